import { describe, expect, it } from '@jest/globals';
import { PROGRESS_MARKER, renderProgress, type ProgressView } from '../../src/github/progress-render.ts';

const checklistOf = (body: string) => body.split('\n').filter((line) => line.startsWith('- ['));

describe('progress comment', () => {
  it('shows a checklist with the current stage and step', () => {
    const body = renderProgress({ stage: 'working', completed: ['queued', 'preparing'], step: 3, maxSteps: 60, startedAt: 0, now: 65_000, tokens: 12345, dollars: 0.0421 });
    expect(body.startsWith(PROGRESS_MARKER)).toBe(true);
    expect(body).toContain('- [x] Queued');
    expect(body).toContain('- [x] Workspace prepared');
    expect(body).toContain('- [ ] **Agent working — step 3 of 60**');
    expect(body).toContain('- [ ] Pull request ready');
    expect(body).toContain('1m 5s');
    expect(body).toContain('12,345 tokens · $0.042');
    expect(renderProgress({ stage: 'working', dollars: 12.345 })).toContain('$12.35');
  });

  it('ends with the PR link, or with the reason it failed', () => {
    expect(renderProgress({ stage: 'done', pullRequestUrl: 'http://x/pull/2' })).toContain('finished: http://x/pull/2');
    const failed = renderProgress({ stage: 'failed', reason: 'step limit reached (4 steps)' });
    expect(failed).toContain('could not finish this task: step limit reached (4 steps)');
  });

  it('ticks only the stages a finished task went through, and the tests that ran', () => {
    const body = renderProgress({ stage: 'done', completed: ['queued', 'preparing', 'working', 'pushing'], tests: { command: 'npm test', passed: true }, pullRequestUrl: 'http://x/pull/2' });
    expect(checklistOf(body)).toEqual([
      '- [x] Queued',
      '- [x] Workspace prepared',
      '- [x] Agent working',
      '- [x] Tests run — `npm test` passed',
      '- [x] Branch pushed',
      '- [x] Pull request ready',
    ]);
  });

  it('a failed task whose work was pushed as a draft shows what really happened and where it stopped', () => {
    const body = renderProgress({
      stage: 'failed',
      reason: 'step limit reached (4 steps)',
      completed: ['queued', 'preparing', 'working', 'testing', 'pushing'],
      stoppedAt: 'pushing',
      tests: { command: 'npm test', passed: false },
      pullRequestUrl: 'http://x/pull/3',
    });
    expect(checklistOf(body)).toEqual([
      '- [x] Queued',
      '- [x] Workspace prepared',
      '- [x] Agent working',
      '- [x] Tests run — `npm test` failed',
      '- [x] Branch pushed',
      '- [x] Pull request holds the work so far',
    ]);
  });

  it('a task that failed in the agent stage leaves the later stages unticked and marks where it stopped', () => {
    const body = renderProgress({ stage: 'failed', reason: 'the model API timed out', completed: ['queued', 'preparing'], stoppedAt: 'working', tests: { command: 'npm test' } });
    expect(checklistOf(body)).toEqual([
      '- [x] Queued',
      '- [x] Workspace prepared',
      '- [ ] **Agent working** ← stopped here',
      '- [ ] Tests run',
      '- [ ] Branch pushed',
      '- [ ] Pull request ready',
    ]);
    const cancelled = renderProgress({ stage: 'cancelled', reason: 'the label was removed', completed: ['queued'], stoppedAt: 'preparing' });
    expect(cancelled).toContain('- [ ] **Workspace prepared** ← stopped here');
  });

  it('never ticks "Tests run" without a test command, and says nothing verified the change', () => {
    const body = renderProgress({ stage: 'done', completed: ['queued', 'preparing', 'working', 'pushing'], tests: { command: null }, pullRequestUrl: 'http://x/pull/4' });
    expect(body).toContain('⚠️ **ai-fix** finished, unverified: http://x/pull/4');
    expect(body).toContain('- [ ] Tests run — no test command');
    expect(body).toContain('> No test command ran, so nothing verified this change. Set `test:` (or `tests:` for a sub-folder) in `.github/ai-fix.yml`, and `setup:`');
    expect(renderProgress({ stage: 'working', completed: ['queued', 'preparing'], tests: { command: null } })).toContain('> No test command was configured or detected, so no test will verify this change.');
  });

  it('shows no checklist for a task that ended before it began', () => {
    expect(checklistOf(renderProgress({ stage: 'done', completed: ['queued'], pullRequestUrl: 'http://x/pull/2' }))).toEqual([]);
    expect(checklistOf(renderProgress({ stage: 'failed', reason: 'bad config', stoppedAt: 'queued' }))).toEqual([]);
  });

  it("renders the agent's plan as its own short checklist", () => {
    const plan: ProgressView['plan'] = [
      { step: 'Reproduce the bug with a test', status: 'completed' },
      { step: 'Fix `add` in calc.js', status: 'in_progress' },
      { step: 'Run the\nwhole suite', status: 'pending' },
    ];
    const body = renderProgress({ stage: 'working', completed: ['queued', 'preparing'], plan });
    const at = body.indexOf('**Plan**');
    expect(at).toBeGreaterThan(body.indexOf('- [ ] Pull request ready'));
    expect(body.slice(at)).toContain('**Plan**\n\n- [x] Reproduce the bug with a test\n- [ ] **Fix `add` in calc.js**\n- [ ] Run the whole suite');
    expect(renderProgress({ stage: 'working' })).not.toContain('**Plan**');
  });

  it('clips a long plan and long steps', () => {
    const plan = Array.from({ length: 30 }, (_, i) => ({ step: `step ${i} ${'x'.repeat(500)}`, status: 'pending' as const }));
    const body = renderProgress({ stage: 'working', plan });
    const lines = body.slice(body.indexOf('**Plan**')).split('\n').filter((line) => line.startsWith('- '));
    expect(lines).toHaveLength(13);
    expect(lines.at(-1)).toBe('- … and 18 more');
    expect(Math.max(...lines.map((line) => line.length))).toBeLessThan(220);
  });

  it('says what of the issue the agent could not see', () => {
    const body = renderProgress({ stage: 'working', notes: ["The issue's description is 60,000 characters long: the agent saw only the first 30,000."] });
    expect(body).toContain("> [!NOTE]\n> The issue's description is 60,000 characters long");
  });

  it('links the task page on the dashboard when there is one', () => {
    expect(renderProgress({ stage: 'working', taskPageUrl: 'https://ops.example/dashboard/tasks/t1' })).toContain('[Task page](https://ops.example/dashboard/tasks/t1)');
    expect(renderProgress({ stage: 'working' })).not.toContain('Task page');
  });
});
