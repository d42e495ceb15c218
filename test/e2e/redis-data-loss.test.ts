import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { addBugIssue } from '../fixtures/buggy-calculator.ts';
import { waitFor } from '../support/app-process.ts';
import { createHarness, PROGRESS_MARKER, type Harness } from '../support/harness.ts';
import { startPrivateRedis, type PrivateRedis } from '../support/private-redis.ts';
import { fixingCalculatorScript } from '../support/scripted-agents.ts';
import type { SimRepo } from '../support/github-sim.ts';

const QUEUED = ['waiting', 'prioritized', 'delayed'] as const;

describe('Redis restarts without its data', () => {
  let redis: PrivateRedis;
  let h: Harness;

  beforeAll(async () => {
    redis = await startPrivateRedis();
    h = await createHarness('data-loss', { redisUrl: redis.url });
  }, 60_000);

  afterAll(async () => {
    await h?.close();
    await redis?.close();
  });

  const labelledIssue = (repo: SimRepo) => h.github.createIssue('acme', repo.name, { ...addBugIssue, user: 'maintainer', labels: ['ai-fix'] });
  const progressComments = (repo: SimRepo, issueNumber: number) =>
    h.github.issueComments('acme', repo.name, issueNumber).filter((c) => c.body.includes(PROGRESS_MARKER));

  it('every issue labelled before the restart ends with a pull request or a clear comment, queued again once', async () => {
    // Paused, so the tasks are waiting in Redis when it loses them (the pause goes with the data).
    await h.queue.pause();
    h.model.script(fixingCalculatorScript());
    const server = await h.start('start', { AI_FIX_CONCURRENCY: '2' });
    const first = await h.newRepo('lost-first');
    const second = await h.newRepo('lost-second');
    const firstIssue = labelledIssue(first);
    const secondIssue = labelledIssue(second);
    const refusedIssue = labelledIssue(first);
    expect((await h.label(server, first, firstIssue)).status).toBe(200);
    expect((await h.label(server, second, secondIssue)).status).toBe(200);
    expect((await h.label(server, first, refusedIssue, { sender: 'visitor' })).status).toBe(200);
    await waitFor('both progress comments', () => progressComments(first, firstIssue).length && progressComments(second, secondIssue).length, 60_000);
    await waitFor('the refusal', () => h.github.issueComments('acme', first.name, refusedIssue).length, 60_000);
    const lost = await waitFor('both tasks queued', async () => {
      const jobs = await h.queue.getJobs([...QUEUED]);
      return jobs.length === 2 && jobs;
    }, 30_000);

    await redis.kill();
    await redis.start({ empty: true });
    // The tasks really are gone, not delayed: none of the jobs queued before exists any more.
    for (const job of lost) expect(await h.queue.getJob(job.id ?? '')).toBeUndefined();
    await waitFor('the reconciliation', () => /queued 2 labelled issue\(s\) again/.test(server.output()), 60_000);
    const firstPr = await waitFor('the first pull request', () => h.github.pulls('acme', first.name)[0], 120_000);
    const secondPr = await waitFor('the second pull request', () => h.github.pulls('acme', second.name)[0], 120_000);
    expect(firstPr.head).toBe(`ai-fix/issue-${firstIssue}`);
    expect(secondPr.head).toBe(`ai-fix/issue-${secondIssue}`);
    for (const [repo, issueNumber] of [[first, firstIssue], [second, secondIssue]] as const) {
      await waitFor('the final progress comment', () => progressComments(repo, issueNumber)[0]?.body.includes('finished'), 60_000);
      // The task continued the comment it had posted before Redis lost it.
      expect(progressComments(repo, issueNumber)).toHaveLength(1);
    }
    const completed = await waitFor('both jobs completed', async () => {
      const jobs = await h.queue.getJobs(['completed']);
      return jobs.length === 2 && jobs;
    }, 30_000);
    expect(completed.map((job) => job.data.trigger.deliveryId)).toEqual([expect.stringMatching(/^reconcile-/), expect.stringMatching(/^reconcile-/)]);
    expect(await h.queue.getJobCounts(...QUEUED, 'active', 'failed')).toEqual({ waiting: 0, prioritized: 0, delayed: 0, active: 0, failed: 0 });

    // The refused label stays refused, with its one comment and no pull request.
    const refusal = h.github.issueComments('acme', first.name, refusedIssue);
    expect(refusal.map((c) => c.body)).toEqual([expect.stringContaining('ai-fix only starts work when someone with write access')]);
    expect(h.github.pulls('acme', first.name)).toHaveLength(1);
    expect(h.github.pulls('acme', second.name)).toHaveLength(1);
    await h.stopApps();
  }, 300_000);
});
