import { describe, expect, it } from '@jest/globals';
import { PROGRESS_MARKER, renderProgress } from '../../src/github/progress-render.ts';

describe('progress comment', () => {
  it('shows a checklist with the current stage and step', () => {
    const body = renderProgress({ stage: 'working', step: 3, maxSteps: 60, startedAt: 0, now: 65_000, tokens: 12345, dollars: 0.0421 });
    expect(body.startsWith(PROGRESS_MARKER)).toBe(true);
    expect(body).toContain('- [x] Queued');
    expect(body).toContain('- [x] Workspace prepared');
    expect(body).toContain('**Agent working — step 3 of 60**');
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

  it('links the task page on the dashboard when there is one', () => {
    expect(renderProgress({ stage: 'working', taskPageUrl: 'https://ops.example/dashboard/tasks/t1' })).toContain('[Task page](https://ops.example/dashboard/tasks/t1)');
    expect(renderProgress({ stage: 'working' })).not.toContain('Task page');
  });
});
