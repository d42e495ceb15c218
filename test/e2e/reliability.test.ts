import { execFileSync } from 'node:child_process';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from '@jest/globals';
import { addBugIssue } from '../fixtures/buggy-calculator.ts';
import { waitFor, type AppProcess } from '../support/app-process.ts';
import { createHarness, WEBHOOK_SECRET, type Harness } from '../support/harness.ts';
import { processesMatching } from '../support/processes.ts';
import { fixingCalculatorScript, stepOf } from '../support/scripted-agents.ts';
import { issueCommentPayload, issueEventPayload, sendWebhook } from '../support/webhooks.ts';
import type { SimRepo } from '../support/github-sim.ts';
import type { RecordedModelRequest } from '../support/model-sim.ts';

describe('reliability: cancellation, crashes, restarts, flaky services', () => {
  let h: Harness;

  beforeAll(async () => {
    h = await createHarness('reliability');
  }, 60_000);

  afterEach(async () => {
    await h?.stopApps();
  });

  afterAll(async () => {
    await h?.close();
  });

  function issueEvent(app: AppProcess, repo: SimRepo, issueNumber: number, action: string, label?: string) {
    return sendWebhook({
      url: app.webhookUrl,
      secret: WEBHOOK_SECRET,
      event: 'issues',
      payload: issueEventPayload(action, { repo, installationId: h.github.installationId, issueNumber, ...addBugIssue, sender: 'maintainer', label }),
    });
  }

  function comment(app: AppProcess, repo: SimRepo, issueNumber: number, body: string) {
    return sendWebhook({
      url: app.webhookUrl,
      secret: WEBHOOK_SECRET,
      event: 'issue_comment',
      payload: issueCommentPayload({ repo, installationId: h.github.installationId, issueNumber, ...addBugIssue, sender: 'maintainer', commentBody: body }),
    });
  }

  /** The task for `repo` has asked the model for its step `step`. */
  const isFor = (r: RecordedModelRequest, repo: SimRepo) => String(r.body.input?.[0]?.content ?? '').startsWith(`Repository: acme/${repo.name}\n`);
  const reached = (repo: SimRepo, step: number) => h.model.requests.some((r) => stepOf(r) === step && isFor(r, repo));

  const finalState = (repo: SimRepo, issueNumber: number, word: string) =>
    waitFor(`a progress comment saying ${word}`, () => {
      const body = h.progressComment(repo, issueNumber)?.body;
      return body?.includes(word) ? body : undefined;
    }, 90_000);

  it('removing the label kills a long command at once and the comment says cancelled', async () => {
    const app = await h.start('start');
    const repo = await h.newRepo('cancel-command');
    const issueNumber = h.newIssue(repo);
    h.model.script([{ toolCalls: [{ name: 'run_shell', arguments: { command: 'sleep 871; echo never', timeout_seconds: null } }] }]);

    await h.label(app, repo, issueNumber);
    await waitFor('the long command', () => processesMatching('sleep 871').length > 0, 60_000);
    const asked = Date.now();
    expect((await issueEvent(app, repo, issueNumber, 'unlabeled', 'ai-fix')).status).toBe(200);

    const body = await finalState(repo, issueNumber, 'cancelled');
    const seconds = (Date.now() - asked) / 1000;
    process.stdout.write(`reliability: cancel during a long command took ${seconds.toFixed(1)} s\n`);
    expect(body).toContain('label was removed');
    // The command would have run for 871 s; it is gone long before.
    expect(seconds).toBeLessThan(60);
    await waitFor('the command to be killed', () => processesMatching('sleep 871').length === 0, 10_000);
    expect(h.github.pulls('acme', repo.name)).toHaveLength(0);
    await app.stop();
  }, 120_000);

  it('/ai-fix stop aborts the model call; a removed label drops a queued task before it starts', async () => {
    const app = await h.start('start');
    const running = await h.newRepo('stop-running');
    const queued = await h.newRepo('stop-queued');
    const runningIssue = h.newIssue(running);
    const queuedIssue = h.newIssue(queued);
    h.model.script(fixingCalculatorScript({ slowStep: 1, delayMs: 120_000 }));

    await h.label(app, running, runningIssue);
    await waitFor('the slow model call', () => reached(running, 1), 60_000);
    await h.label(app, queued, queuedIssue);
    await waitFor('the queued task', async () => (await h.queue.getWaitingCount()) === 1, 20_000);

    expect((await issueEvent(app, queued, queuedIssue, 'unlabeled', 'ai-fix')).status).toBe(200);
    expect(await finalState(queued, queuedIssue, 'cancelled')).toContain('label was removed');
    expect(await h.queue.getWaitingCount()).toBe(0);

    const before = h.model.requests.length;
    expect((await comment(app, running, runningIssue, 'Thanks, but\n/ai-fix stop')).status).toBe(200);
    expect(await finalState(running, runningIssue, 'cancelled')).toContain('stopped by @maintainer');
    const slow = h.model.requests.find((r) => stepOf(r) === 1 && isFor(r, running));
    await waitFor('the model call to be aborted', () => slow?.aborted === true, 10_000);
    expect(h.model.requests.length).toBe(before);
    expect(h.github.pulls('acme', running.name)).toHaveLength(0);
    expect(h.github.pulls('acme', queued.name)).toHaveLength(0);
    await app.stop();
  }, 120_000);

  it('a worker killed with SIGKILL mid-task: another worker takes the task and exactly one PR appears', async () => {
    const server = await h.start('serve');
    const fast = { AI_FIX_JOB_LOCK_SECONDS: '5' };
    const doomed = await h.start('worker', fast);
    const repo = await h.newRepo('killed-worker');
    const issueNumber = h.newIssue(repo);
    h.model.script(fixingCalculatorScript({ slowStep: 2, delayMs: 120_000 }));

    await h.label(server, repo, issueNumber);
    await waitFor('the task mid-way', () => reached(repo, 2), 60_000);
    doomed.child.kill('SIGKILL');
    await doomed.waitForExit();
    const rescuer = await h.start('worker', fast);

    const pr = await waitFor('the pull request', () => h.github.pulls('acme', repo.name)[0], 90_000);
    await finalState(repo, issueNumber, 'finished');
    // The job completes a moment after its last comment: the token is revoked and the workdir removed first.
    const completed = async () => (await h.queue.getJobs(['completed'])).filter((job) => job.data.repo.name === repo.name);
    await waitFor('the job to complete', async () => (await completed()).length > 0, 30_000);
    expect(await completed()).toHaveLength(1);
    expect(h.github.pulls('acme', repo.name)).toHaveLength(1);
    expect(pr.head).toBe(`ai-fix/issue-${issueNumber}`);
    const progress = h.github.issueComments('acme', repo.name, issueNumber).filter((c) => c.body.includes('ai-fix:progress'));
    expect(progress).toHaveLength(1);
    await Promise.all([server.stop(), rescuer.stop()]);
  }, 150_000);

  it('SIGTERM: a task still running after the grace period is handed back with its checkpoint, and finished by another worker', async () => {
    const server = await h.start('serve');
    const leaving = await h.start('worker', { AI_FIX_SHUTDOWN_GRACE_SECONDS: '1' });
    const repo = await h.newRepo('graceful-worker');
    const issueNumber = h.newIssue(repo);
    // Slow after the fix is made, before it is tested.
    h.model.script(fixingCalculatorScript({ slowStep: 3, delayMs: 120_000 }));

    await h.label(server, repo, issueNumber);
    await waitFor('the task mid-way', () => reached(repo, 3), 60_000);
    const code = await leaving.stop('SIGTERM');
    const trouble = /unhandled promise rejection|"level":50/.test(leaving.output());
    expect({ code, trouble, output: code === 0 && !trouble ? '' : leaving.output() }).toEqual({ code: 0, trouble: false, output: '' });
    const before = h.model.requests.filter((r) => isFor(r, repo)).length;

    const successor = await h.start('worker');
    const pr = await waitFor('the pull request', () => h.github.pulls('acme', repo.name)[0], 90_000);
    await finalState(repo, issueNumber, 'finished');
    // The successor went on from the conversation and the tree the first worker left (its fix included).
    const resumed = h.model.requests.filter((r) => isFor(r, repo)).slice(before);
    expect(JSON.stringify(resumed[0]?.body.input)).toContain('resumes from a checkpoint');
    expect(stepOf(resumed[0]!)).toBe(3);
    const checkout = await fs.mkdtemp(path.join(os.tmpdir(), 'ai-fix-graceful-'));
    await h.github.cloneWithToken('acme', repo.name, checkout, pr.head);
    expect(execFileSync('npm', ['test', '--silent'], { cwd: checkout, encoding: 'utf8' })).toContain('all tests passed');
    await fs.rm(checkout, { recursive: true, force: true });
    expect(h.github.pulls('acme', repo.name)).toHaveLength(1);
    await Promise.all([server.stop(), successor.stop()]);
  }, 150_000);

  it('a 429 storm from the model and 502s from GitHub: the task completes after backoff', async () => {
    const app = await h.start('start');
    const repo = await h.newRepo('flaky-services');
    const issueNumber = h.newIssue(repo);
    let rateLimited = 0;
    const script = fixingCalculatorScript();
    h.model.script((request, index) => {
      if (rateLimited < 3 && stepOf(request) === 1) {
        rateLimited++;
        return { error: { status: 429, message: 'Rate limit reached', code: 'rate_limit_exceeded', headers: { 'retry-after': '1' } } };
      }
      return script(request, index);
    });
    h.github.failNext('POST', /\/pulls$/, 502, 2);
    h.github.failNext('PATCH', /\/issues\/comments\/\d+$/, 502, 1);
    h.github.failNext('POST', /\/git-receive-pack$/, 502, 1);

    await h.label(app, repo, issueNumber);
    const pr = await waitFor('the pull request', () => h.github.pulls('acme', repo.name)[0], 120_000);
    await finalState(repo, issueNumber, 'finished');

    expect(rateLimited).toBe(3);
    expect(pr.body).toContain('✅ passed');
    const failedRequests = h.github.requests.filter((r) => r.status === 502);
    expect(failedRequests.length).toBeGreaterThanOrEqual(3);
    expect(h.github.pulls('acme', repo.name)).toHaveLength(1);
    await app.stop();
  }, 150_000);
});
