import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { Redis } from 'ioredis';
import { createInstallationOctokit } from '../../src/github/installation-client.ts';
import { createLogger } from '../../src/util/logger.ts';
import { ProgressReporter } from '../../src/worker/progress-reporter.ts';
import { progressKey } from '../../src/state/progress-key.ts';
import { waitFor } from '../support/app-process.ts';
import { startGitHubSim, type GitHubSim } from '../support/github-sim.ts';
import { connectTestRedis, deletePrefix, uniquePrefix } from '../support/redis.ts';

// The progress comment shows the task's latest state with as few edits (GitHub writes) as that takes.
describe('the progress reporter', () => {
  let github: GitHubSim;
  let redis: Redis;
  const prefix = uniquePrefix('progress');
  let issues = 0;

  beforeAll(async () => {
    redis = await connectTestRedis();
    github = await startGitHubSim();
    await github.createRepo({ owner: 'acme', name: 'progress', files: { 'a.txt': 'a\n' } });
  });

  afterAll(async () => {
    await github?.close();
    await deletePrefix(redis, prefix);
    redis?.disconnect();
  });

  function reporter() {
    const issueNumber = github.createIssue('acme', 'progress', { title: `t${++issues}`, body: 'b' });
    const octokit = createInstallationOctokit(
      { appId: github.appId, privateKey: github.privateKey, baseUrl: github.apiUrl },
      github.installationId,
      createLogger({ level: 'silent' }),
      [],
    );
    const progress = new ProgressReporter({
      octokit,
      redis,
      key: progressKey(prefix, `job-${issueNumber}`),
      target: { owner: 'acme', repo: 'progress', issueNumber },
      log: createLogger({ level: 'silent' }),
      secrets: new Set(),
    });
    const comments = () => github.issueComments('acme', 'progress', issueNumber);
    const commentWrites = () => {
      const ids = new Set(comments().map((c) => String(c.id)));
      return github.requests.filter(
        (r) =>
          (r.method === 'POST' && r.path.endsWith(`/issues/${issueNumber}/comments`)) ||
          (r.method === 'PATCH' && ids.has(r.path.split('/').pop() ?? '')),
      ).length;
    };
    // Resolves when the next write to GitHub is on its way.
    const nextWrite = () =>
      new Promise<void>((resolve) => {
        octokit.hook.before('request', (options) => {
          if (options.method !== 'GET') resolve();
        });
      });
    return { progress, comments, commentWrites, nextWrite };
  }

  it('writes a burst of updates ending in a final state once, as the final state', async () => {
    const { progress, comments, commentWrites } = reporter();
    void progress.update({ stage: 'preparing' });
    void progress.update({ stage: 'working', step: 0, maxSteps: 60 });
    for (let step = 1; step <= 5; step++) void progress.update({ step, tokens: step * 1000 });
    void progress.update({ stage: 'pushing' });
    await progress.update({ stage: 'done', pullRequestUrl: 'https://example.test/acme/progress/pull/9' });
    expect(commentWrites()).toBe(1);
    expect(comments()).toHaveLength(1);
    expect(comments()[0]?.body).toContain('finished: https://example.test/acme/progress/pull/9');
  });

  it('sends only the latest of the updates that arrive while an edit is under way', async () => {
    const { progress, comments, commentWrites, nextWrite } = reporter();
    void progress.update({ stage: 'preparing' });
    const writing = nextWrite();
    const first = progress.flush();
    await writing;
    void progress.update({ stage: 'working', step: 1 });
    void progress.update({ stage: 'working', step: 2 });
    await progress.update({ stage: 'failed', reason: 'the tests still fail' });
    await first;
    expect(commentWrites()).toBe(2);
    expect(comments()[0]?.body).toContain('could not finish this task: the tests still fail');
  });

  it('writes a pending state on flush, and nothing when the comment is up to date', async () => {
    const { progress, comments, commentWrites } = reporter();
    void progress.update({ stage: 'working', step: 7, maxSteps: 60 });
    await progress.flush();
    await progress.flush();
    expect(commentWrites()).toBe(1);
    expect(comments()[0]?.body).toContain('step 7 of 60');
  });

  it('writes a new stage by itself after a short wait', async () => {
    const { progress, comments, commentWrites } = reporter();
    void progress.update({ stage: 'preparing' });
    void progress.update({ stage: 'working', step: 3, maxSteps: 60 });
    await waitFor('the edit', () => comments()[0]?.body.includes('step 3 of 60'), 20_000);
    expect(commentWrites()).toBe(1);
  }, 30_000);

  it('ticks the stages the task got through, also when it fails after the push', async () => {
    const { progress, comments } = reporter();
    void progress.update({ stage: 'preparing' });
    void progress.update({ stage: 'working', step: 0, maxSteps: 4, tests: { command: 'npm test' } });
    void progress.update({ stage: 'testing' });
    void progress.update({ stage: 'pushing', tests: { command: 'npm test', passed: false } });
    await progress.update({ stage: 'failed', reason: 'step limit reached (4 steps)', completed: ['pushing'], pullRequestUrl: 'https://example.test/acme/progress/pull/9' });
    const checklist = comments()[0]?.body.split('\n').filter((line) => line.startsWith('- ['));
    expect(checklist).toEqual([
      '- [x] Queued',
      '- [x] Workspace prepared',
      '- [x] Agent working — step 0 of 4',
      '- [x] Tests run — `npm test` failed',
      '- [x] Branch pushed',
      '- [x] Pull request holds the work so far',
    ]);
  });

  it('marks where a cancelled task stopped, and leaves what did not happen unticked', async () => {
    const { progress, comments } = reporter();
    void progress.update({ stage: 'preparing' });
    void progress.update({ stage: 'working', step: 2, maxSteps: 60 });
    await progress.update({ stage: 'cancelled', reason: 'the label was removed' });
    const checklist = comments()[0]?.body.split('\n').filter((line) => line.startsWith('- ['));
    expect(checklist).toEqual([
      '- [x] Queued',
      '- [x] Workspace prepared',
      '- [ ] **Agent working — step 2 of 60** ← stopped here',
      '- [ ] Tests run',
      '- [ ] Branch pushed',
      '- [ ] Pull request ready',
    ]);
  });
});
