import { describe, expect, it } from '@jest/globals';
import { renderPullRequestBody, type PullRequestReport } from '../../src/github/pull-request-body.ts';
import { renderTaskPrompt, type TaskPromptInput } from '../../src/agent/prompts.ts';
import { renderVerificationSection, type Verification } from '../../src/github/verification-section.ts';
import type { TestRun } from '../../src/workspace/test-outcomes.ts';
import { reproduceFirst, verificationOf } from '../../src/worker/stages/verify-tests.ts';

const BASE = 'a'.repeat(40);
const HEAD = 'b'.repeat(40);

function run(sha: string, exitCode: number | null, failed: string[], passed: string[] = [], runners: TestRun['outcomes']['runners'] = ['node']): TestRun {
  return { sha, command: 'npm test', exitCode, timedOut: false, outcomes: { runners, failed, passed } };
}

const section = (verification: Verification) => renderVerificationSection(verification).join('\n');

describe('the Verification section', () => {
  it('names the commits, the command and the tests the change fixed', () => {
    const text = section(verificationOf(run(BASE, 1, ['math > adds', 'math > adds zero']), run(HEAD, 0, [], ['math > adds', 'math > adds zero', 'math > subtracts'])));
    expect(text).toContain('Run by ai-fix on base `aaaaaaa` and head `bbbbbbb`: `npm test` failed (exit 1) on the base, passed (exit 0) on this branch.');
    expect(text).toContain('Fixed (failed on the base, pass on this branch):\n\n- `math > adds`\n- `math > adds zero`');
    expect(text).not.toContain('not proven');
  });

  it('says so when no test failed on the base', () => {
    const text = section(verificationOf(run(BASE, 0, [], ['a']), run(HEAD, 0, [], ['a', 'b'])));
    expect(text).toContain('No test failed on the base: the change is not proven by a test.');
  });

  it('lists what still fails and what newly fails', () => {
    const text = section(verificationOf(run(BASE, 1, ['old']), run(HEAD, 1, ['old', 'new'])));
    expect(text).toContain('Still failing (on the base and on this branch):\n\n- `old`');
    expect(text).toContain('Newly failing (on this branch only):\n\n- `new`');
  });

  it('falls back to the exit statuses when the output names no test', () => {
    const text = section(verificationOf(run(BASE, 1, [], [], []), { ...run(HEAD, null, [], [], []), timedOut: true }));
    expect(text).toContain('failed (exit 1) on the base, timed out on this branch.');
    expect(text).toContain('only the exit statuses above tell');
    expect(text).not.toContain('Fixed');
  });

  it('keeps a test name from breaking out of its code span', () => {
    expect(section(verificationOf(run(BASE, 1, ['a `b`\nc']), run(HEAD, 0, [], ['a `b`\nc'])))).toContain("- `a 'b' c`");
  });

  it('sits in the PR body after how it was verified and before the cost', () => {
    const report: PullRequestReport = {
      issueNumber: 7, summary: 'Fixed it.', files: [{ status: 'M', path: 'a.ts' }], testCommand: 'npm test', testsPassed: true,
      usage: { input: 1, cached: 0, output: 1, reasoning: 0 }, dollars: 0.01, steps: 3, model: 'gpt-5-codex', durationMs: 1000,
      verification: verificationOf(run(BASE, 1, ['x']), run(HEAD, 0, [], ['x'])),
    };
    const body = renderPullRequestBody(report);
    const order = ['## How it was verified', '## Verification', '- `x`', '## Cost'].map((h) => body.indexOf(h));
    expect(order.every((at) => at >= 0)).toBe(true);
    expect([...order].sort((a, b) => a - b)).toEqual(order);
    expect(renderPullRequestBody({ ...report, verification: undefined })).not.toContain('## Verification');
  });
});

describe('reproduce first', () => {
  const bug = { title: 'Login fails when the email has a plus sign', labels: [] };
  const feature = { title: 'Add a dark mode', labels: [] };

  it('applies to a bug report whose tests all pass on the base', () => {
    expect(reproduceFirst(bug, run(BASE, 0, []))).toBe(true);
    expect(reproduceFirst({ title: 'Totals are off by one cent', labels: ['type: bug'] }, run(BASE, 0, []))).toBe(true);
  });

  it('not when a test already fails, for a feature, or without a test command', () => {
    expect(reproduceFirst(bug, run(BASE, 1, ['login > plus sign']))).toBe(false);
    expect(reproduceFirst(feature, run(BASE, 0, []))).toBe(false);
    expect(reproduceFirst(bug, null)).toBe(false);
  });

  it('adds one paragraph to the task prompt', () => {
    const input: TaskPromptInput = { issue: { repoFullName: 'acme/app', issueNumber: 3, ...bug, body: 'It crashes.', comments: [] }, repoInstructions: [], testCommand: 'npm test', repositoryMap: 'src/' };
    expect(renderTaskPrompt({ ...input, reproduceFirst: true })).toContain('write a test that shows the bug and run it to see it fail');
    expect(renderTaskPrompt(input)).not.toContain('Reproduce first');
  });
});
