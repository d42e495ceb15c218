import { describe, expect, it } from '@jest/globals';
import { renderPullRequestBody, type PullRequestReport } from '../../src/github/pull-request-body.ts';

const report: PullRequestReport = {
  issueNumber: 7,
  summary: 'Fixed it.',
  files: [{ status: 'M', path: 'a.ts' }],
  testCommand: 'npm test',
  testsPassed: true,
  usage: { input: 120_000, cached: 100_000, output: 3_000, reasoning: 1_000 },
  dollars: 0.0776,
  steps: 12,
  model: 'gpt-5-codex',
  durationMs: 90_000,
};

describe('pull request body', () => {
  it('states the final cost with the tokens', () => {
    expect(renderPullRequestBody(report)).toContain('**$0.078** · 123,000 tokens (120,000 input, of which 100,000 cached; 3,000 output) · 12 steps');
  });

  it('says when the cost is unknown', () => {
    expect(renderPullRequestBody({ ...report, dollars: null, model: 'local-llm' })).toContain('cost unknown (no price for `local-llm`)');
  });

  it('follows one template: summary, changes, verification with the commands run, cost, then the plan folded', () => {
    const body = renderPullRequestBody({
      ...report,
      commands: [
        { command: 'npm test', result: 'failed' },
        { command: 'grep -n add `src`', result: 'exit code 0' },
        { command: 'npm test', result: 'passed' },
      ],
      plan: { notes: 'Plan: read, fix, test.\nThen finish.', steps: ['run_tests', 'read_file calc.js', 'edit_file calc.js'] },
      taskPageUrl: 'https://ai-fix.example/dashboard/tasks/solve-1',
    });
    const order = ['## Summary', '## Changes', '## How it was verified', 'Commands the agent ran', '## Cost', "<details><summary>The agent's plan"].map((h) => body.indexOf(h));
    expect(order.every((at) => at >= 0)).toBe(true);
    expect([...order].sort((a, b) => a - b)).toEqual(order);
    expect(body).toContain("- `grep -n add 'src'` → exit code 0");
    expect(body).toContain('> Plan: read, fix, test.\n> Then finish.');
    expect(body).toContain('2. `read_file calc.js`');
    expect(body).toContain('([task page](https://ai-fix.example/dashboard/tasks/solve-1))');
  });

  it('leaves out the plan and the commands when there are none', () => {
    const body = renderPullRequestBody(report);
    expect(body).not.toContain('<details><summary>The agent');
    expect(body).not.toContain('Commands the agent ran');
    expect(body).not.toContain('task page');
  });

  it('says when no CI exists, so only the local test command verified the change', () => {
    const body = renderPullRequestBody({ ...report, ci: { presence: { configured: false }, base: 'main', maxAttempts: 3 } });
    expect(body).toContain('**No CI is configured** for this repository (no workflow or CI files, and no checks or statuses on `main`): only the local test command `npm test` verified this change.');
  });

  it('says that CI is watched, and how many fix attempts it gets', () => {
    const body = renderPullRequestBody({ ...report, ci: { presence: { configured: true, source: 'GitHub Actions workflows' }, base: 'main', maxAttempts: 3 } });
    expect(body).toContain("CI (GitHub Actions workflows): ai-fix watches this pull request's checks and, when one fails, reads the failure and pushes a fix (up to 3 attempts).");
    expect(body).not.toContain('No CI');
  });

  it('opens with a warning when no test command ran: nothing verified the change, and how to configure one', () => {
    const body = renderPullRequestBody({ ...report, testCommand: null, testsPassed: null, ci: { presence: { configured: false }, base: 'main', maxAttempts: 3 } });
    const [first, second] = body.split('\n');
    expect(first).toBe('> [!WARNING]');
    expect(second).toContain('No test command ran, so nothing verified this change.');
    expect(second).toContain('`test:` (or `tests:` for a sub-folder) in `.github/ai-fix.yml`, and `setup:`');
    expect(second).toContain('opened as a draft');
    expect(body).toContain('**No CI is configured** for this repository (no workflow or CI files, and no checks or statuses on `main`): nothing but its reviewers will check this change.');
  });

  it('has no such warning when the tests ran and passed', () => {
    expect(renderPullRequestBody(report)).not.toContain('[!WARNING]');
  });

  it('says when the issue was cut for the agent', () => {
    const body = renderPullRequestBody({ ...report, notes: ["The issue's description is 60,000 characters long: the agent saw only the first 30,000 (the rest was cut, and the agent was told so)."] });
    expect(body).toContain("> [!NOTE]\n> The issue's description is 60,000 characters long");
  });
});
