import { execFile } from 'node:child_process';
import crypto from 'node:crypto';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { addBugIssue, buggyCalculator } from '../fixtures/buggy-calculator.ts';
import { waitFor, type AppProcess } from '../support/app-process.ts';
import type { SimPull, SimRepo } from '../support/github-sim.ts';
import { createHarness, WEBHOOK_SECRET, type Harness } from '../support/harness.ts';
import { fixThenReviseScript, isRevision } from '../support/scripted-agents.ts';
import {
  checkRunCompletedPayload,
  issueCommentPayload,
  pullRequestEventPayload,
  reviewSubmittedPayload,
  sendWebhook,
  workflowRunCompletedPayload,
} from '../support/webhooks.ts';
import { enqueueTask } from '../../src/queue/task-queue.ts';
import { TASK_REQUEST_VERSION } from '../../src/queue/task-request.ts';

// Issue 13, finding 3: only pull requests ai-fix opened, with their head in the repository
// itself, may start revisions, CI fixes or rebases. A fork's `ai-fix/issue-N` branch, or one a
// person pushed, must start nothing: no job, no commit, no model call, no comment.
const execFileAsync = promisify(execFile);
const FIXED_CALC = 'function add(a, b) {\n  return a + b;\n}\n\nmodule.exports = { add };\n';
const FAILING_LOG = '2026-11-24T10:00:02.0000000Z not ok 2 - add handles negative numbers\n2026-11-24T10:00:02.2000000Z ##[error]Process completed with exit code 1.\n';

describe('security: pull requests ai-fix did not open start nothing', () => {
  let h: Harness;
  let app: AppProcess;

  beforeAll(async () => {
    h = await createHarness('security-fork');
    app = await h.start('start');
    h.model.script(fixThenReviseScript());
  }, 60_000);

  afterAll(async () => {
    await h?.close();
  });

  /** Sends a webhook and returns its delivery id, to find what the app logged about it. */
  async function send(event: string, payload: unknown): Promise<string> {
    const deliveryId = crypto.randomUUID();
    const response = await sendWebhook({ url: app.webhookUrl, secret: WEBHOOK_SECRET, event, payload, deliveryId });
    expect(response.status).toBe(200);
    return deliveryId;
  }

  const logLines = (): Array<Record<string, unknown>> =>
    app.output().split('\n').flatMap((line) => {
      try {
        return [JSON.parse(line) as Record<string, unknown>];
      } catch {
        return [];
      }
    });
  /** Waits for the app's line about this delivery: the proof that it was handled, and how. */
  const loggedFor = (deliveryId: string, msg: string) =>
    waitFor(`"${msg}" for delivery ${deliveryId}`, () => logLines().find((line) => line.id === deliveryId && line.msg === msg), 30_000);

  const jobsOf = async (repo: SimRepo) =>
    (await h.queue.getJobs(['waiting', 'active', 'delayed', 'prioritized', 'waiting-children', 'completed', 'failed'])).filter((job) => job.data.repo.name === repo.name);
  const modelCallsFor = (repo: SimRepo) => h.model.requests.filter((r) => String(r.body?.input?.[0]?.content ?? '').includes(`acme/${repo.name}\n`));
  /** Every branch of the repository and its tip (refs/pull/* are GitHub's, not branches). */
  const branches = async (repo: SimRepo) => (await execFileAsync('git', ['for-each-ref', '--format=%(refname) %(objectname)', 'refs/heads/'], { cwd: repo.bareDir })).stdout;
  const botWrites = (repo: SimRepo, number: number) => {
    const comments = h.github.issueComments('acme', repo.name, number);
    return { comments: comments.filter((c) => c.user.type === 'Bot').length, reactions: comments.flatMap((c) => c.reactions).length + h.github.issueReactions('acme', repo.name, number).length };
  };

  /** A repository with an open issue, and someone else's pull request from `ai-fix/issue-<N>`. */
  async function foreignPull(name: string, where: 'fork' | 'same-org-fork' | 'same-repo') {
    const repo = await h.newRepo(name);
    const issueNumber = h.newIssue(repo);
    const branch = `ai-fix/issue-${issueNumber}`;
    const author = where === 'same-repo' ? 'teammate' : 'mallory';
    h.github.setPermission('acme', repo.name, 'teammate', 'write');
    let fork: SimRepo | undefined;
    if (where === 'same-repo') {
      await h.github.createBranch('acme', repo.name, branch);
      await h.github.pushCommit('acme', repo.name, branch, { 'calc.js': FIXED_CALC }, 'Fix add');
    } else {
      fork = await h.github.forkRepo('acme', repo.name, where === 'fork' ? { owner: 'mallory' } : { owner: 'acme', name: `${repo.name}-fork` });
      await h.github.createBranch(fork.owner, fork.name, branch);
      await h.github.pushCommit(fork.owner, fork.name, branch, { 'calc.js': FIXED_CALC }, 'Fix add');
    }
    const pr = await h.github.openPull('acme', repo.name, {
      user: author,
      head: branch,
      title: `Fix #${issueNumber}`,
      ...(fork ? { headRepo: { owner: fork.owner, name: fork.name } } : {}),
    });
    const headSha = (await h.github.pullRequestHead('acme', repo.name, pr.number))!;
    return { repo, issueNumber, branch, fork, pr, headSha, ref: { number: pr.number, head: branch, base: pr.base, ...(fork ? { headRepo: fork } : {}) } };
  }

  const requestChanges = async (repo: SimRepo, ref: { number: number; head: string; base: string; headRepo?: SimRepo | null }, body: string) => {
    const review = await h.github.addReview('acme', repo.name, ref.number, { user: 'maintainer', state: 'CHANGES_REQUESTED', body });
    return send('pull_request_review', reviewSubmittedPayload({ repo, installationId: h.github.installationId, pull: ref, review: { id: review.review.id, state: 'CHANGES_REQUESTED', body, user: 'maintainer' } }));
  };
  const comment = (repo: SimRepo, number: number, body: string) => {
    const added = h.github.addIssueComment('acme', repo.name, number, { user: 'maintainer', body });
    return send('issue_comment', issueCommentPayload({ repo, installationId: h.github.installationId, issueNumber: number, ...addBugIssue, sender: 'maintainer', commentBody: body, commentId: added.id, isPullRequest: true }));
  };
  const failedCheck = async (repo: SimRepo, sha: string, branch: string) => {
    const run = await h.github.addCheckRun('acme', repo.name, {
      headSha: sha,
      headBranch: branch,
      name: 'test',
      status: 'completed',
      conclusion: 'failure',
      output: { title: '1 test failed', summary: 'add handles negative numbers' },
      workflowRun: { name: 'CI', jobLog: FAILING_LOG },
    });
    return send('check_run', checkRunCompletedPayload({ repo, installationId: h.github.installationId, checkRun: run, branch }));
  };

  it("a maintainer's review, instruction, rebase or stop on a fork's ai-fix/issue-N pull request starts nothing", async () => {
    const { repo, pr, ref } = await foreignPull('fork-review', 'fork');
    expect(pr.headRepo).toBe(`mallory/${repo.name}`);
    const before = await branches(repo);

    const review = await requestChanges(repo, ref, 'Please also handle negative numbers.');
    await loggedFor(review, 'ignored: pull request head is a fork');
    const instruction = await comment(repo, pr.number, '/ai-fix handle negative numbers too');
    await loggedFor(instruction, 'ignored: pull request head is a fork');
    const rebase = await comment(repo, pr.number, '/ai-fix rebase');
    await loggedFor(rebase, 'ignored: pull request head is a fork');
    const stop = await comment(repo, pr.number, '/ai-fix stop');
    await loggedFor(stop, 'ignored: pull request head is a fork');

    expect(await jobsOf(repo)).toEqual([]);
    expect(await branches(repo)).toBe(before);
    expect(modelCallsFor(repo)).toHaveLength(0);
    expect(botWrites(repo, pr.number)).toEqual({ comments: 0, reactions: 0 });
  }, 60_000);

  it('a review on a pull request whose fork was deleted (head.repo null) starts nothing', async () => {
    const { repo, pr, ref, fork } = await foreignPull('fork-deleted', 'fork');
    await h.github.deleteRepo(fork!.owner, fork!.name);
    const before = await branches(repo);

    const review = await requestChanges(repo, { ...ref, headRepo: null }, 'Please also handle negative numbers.');
    await loggedFor(review, 'ignored: pull request head is a deleted fork');

    expect(await jobsOf(repo)).toEqual([]);
    expect(await branches(repo)).toBe(before);
    expect(botWrites(repo, pr.number)).toEqual({ comments: 0, reactions: 0 });
  }, 60_000);

  it("a failed check run or workflow run on a fork's ai-fix/issue-N pull request starts nothing", async () => {
    // A fork in the same organisation: its head label (`acme:ai-fix/issue-N`) matches the base's.
    const { repo, pr, branch, fork, headSha } = await foreignPull('fork-ci', 'same-org-fork');
    const before = await branches(repo);

    const checkRun = await failedCheck(repo, headSha, branch);
    await loggedFor(checkRun, 'ignored: pull request head is a fork');
    const workflowRun = await send('workflow_run', workflowRunCompletedPayload({ repo, installationId: h.github.installationId, sha: headSha, branch, conclusion: 'failure', headRepo: fork! }));
    await loggedFor(workflowRun, 'ignored: CI ran on a commit from a fork');

    expect(await jobsOf(repo)).toEqual([]);
    expect(await branches(repo)).toBe(before);
    expect(modelCallsFor(repo)).toHaveLength(0);
    expect(botWrites(repo, pr.number)).toEqual({ comments: 0, reactions: 0 });
  }, 60_000);

  it('a pull request a person opened from an ai-fix/issue-N branch of the repository starts nothing', async () => {
    const { repo, pr, ref, branch, headSha } = await foreignPull('human-ai-fix-branch', 'same-repo');
    expect(pr.headRepo).toBeUndefined();
    const before = await branches(repo);

    const review = await requestChanges(repo, ref, 'Please also handle negative numbers.');
    await loggedFor(review, 'ignored: not an open pull request opened by ai-fix');
    const checkRun = await failedCheck(repo, headSha, branch);
    await loggedFor(checkRun, 'ignored: not an open pull request opened by ai-fix');
    const rebase = await comment(repo, pr.number, '/ai-fix rebase');
    await loggedFor(rebase, 'ignored: not an open pull request opened by ai-fix');

    expect(await jobsOf(repo)).toEqual([]);
    expect(await branches(repo)).toBe(before);
    expect(modelCallsFor(repo)).toHaveLength(0);
    expect(botWrites(repo, pr.number)).toEqual({ comments: 0, reactions: 0 });
  }, 60_000);

  it('the worker does not trust the queue: a revision queued for a fork pull request is skipped', async () => {
    const { repo, issueNumber, pr } = await foreignPull('fork-queued', 'fork');
    const before = await branches(repo);
    // As if the app had queued it (an older version, or someone with access to Redis).
    const { jobId } = await enqueueTask(h.queue, {
      version: TASK_REQUEST_VERSION,
      kind: 'revise',
      repo: { id: repo.id, owner: repo.owner, name: repo.name },
      installationId: h.github.installationId,
      issueNumber,
      pullNumber: pr.number,
      trigger: { login: 'maintainer', event: 'pull_request_review.submitted', deliveryId: crypto.randomUUID() },
      options: {},
      requestedAt: new Date().toISOString(),
    });
    const job = await waitFor('the job to finish', async () => {
      const found = await h.queue.getJob(jobId);
      return found?.finishedOn ? found : undefined;
    }, 60_000);

    expect(job.returnvalue).toMatchObject({ outcome: 'skipped', reason: 'ignored: pull request head is a fork' });
    expect(await branches(repo)).toBe(before);
    expect(modelCallsFor(repo)).toHaveLength(0);
    expect(botWrites(repo, pr.number)).toEqual({ comments: 0, reactions: 0 });
  }, 90_000);

  describe("ai-fix's own pull request", () => {
    let repo: SimRepo;
    let pr: SimPull;
    const ref = () => ({ number: pr.number, head: pr.head, base: pr.base });
    const revisionJobs = async () => (await jobsOf(repo)).filter((job) => job.name === 'revise');
    /** Waits for `count` revisions to have run (a skipped one did not). */
    const revised = async (count: number) => {
      await waitFor(`revision ${count}`, async () => (await revisionJobs()).filter((job) => job.finishedOn && job.returnvalue?.outcome !== 'skipped').length === count, 90_000);
    };

    beforeAll(async () => {
      repo = await h.newRepo('own-pull', { ...buggyCalculator, '.github/ai-fix.yml': 'revisions:\n  debounce_seconds: 1\n' });
      const issueNumber = h.newIssue(repo);
      await h.label(app, repo, issueNumber);
      pr = await waitFor('the pull request', () => h.github.pulls('acme', repo.name)[0], 90_000);
      await waitFor('the task to finish', () => h.progressComment(repo, issueNumber)?.body.includes('finished'), 60_000);
    }, 180_000);

    it('a review asking for changes starts a revision that pushes to its branch', async () => {
      const before = await h.github.branchSha('acme', repo.name, pr.head);
      const review = await requestChanges(repo, ref(), 'Please make add() work with numeric strings too.');
      await loggedFor(review, 'revision queued');
      await revised(1);

      expect((await revisionJobs())[0]?.returnvalue).toMatchObject({ outcome: 'pr-updated' });
      expect(await h.github.branchSha('acme', repo.name, pr.head)).not.toBe(before);
      expect(modelCallsFor(repo).filter(isRevision).length).toBeGreaterThan(0);
    }, 120_000);

    it('closed and reopened, it is followed again', async () => {
      const installationId = h.github.installationId;
      const event = (action: string) => pullRequestEventPayload(action, { repo, installationId, pull: ref(), author: h.github.botLogin, sender: 'maintainer' });
      await h.github.setPullState('acme', repo.name, pr.number, 'closed');
      await loggedFor(await send('pull_request', event('closed')), 'cancel requested');
      const ignored = await requestChanges(repo, ref(), 'Still there?');
      await loggedFor(ignored, 'ignored: not an open pull request opened by ai-fix');

      await h.github.setPullState('acme', repo.name, pr.number, 'open');
      await loggedFor(await send('pull_request', event('reopened')), 'reopened ai-fix pull request is followed again');
      const review = await requestChanges(repo, ref(), 'Please keep the numeric coercion, and add a comment.');
      await loggedFor(review, 'revision queued');
      await revised(2);
    }, 120_000);
  });
});
