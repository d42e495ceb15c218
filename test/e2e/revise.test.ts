import { execFileSync } from 'node:child_process';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { addBugIssue, buggyCalculator } from '../fixtures/buggy-calculator.ts';
import { waitFor, type AppProcess } from '../support/app-process.ts';
import type { SimPull, SimRepo } from '../support/github-sim.ts';
import { createHarness, PROGRESS_MARKER, WEBHOOK_SECRET, type Harness } from '../support/harness.ts';
import { fixThenReviseScript, isRevision } from '../support/scripted-agents.ts';
import { issueCommentPayload, reviewCommentPayload, reviewSubmittedPayload, sendWebhook } from '../support/webhooks.ts';

describe('reviewers ask, the agent revises', () => {
  let h: Harness;
  let app: AppProcess;

  beforeAll(async () => {
    h = await createHarness('revise');
    app = await h.start('start');
    h.model.script(fixThenReviseScript());
  }, 60_000);

  afterAll(async () => {
    await h?.close();
  });

  const send = (event: string, payload: unknown) => sendWebhook({ url: app.webhookUrl, secret: WEBHOOK_SECRET, event, payload });

  /** A repository whose issue ai-fix has already turned into a pull request. */
  async function withPullRequest(name: string, debounceSeconds: number): Promise<{ repo: SimRepo; issueNumber: number; pr: SimPull }> {
    const repo = await h.newRepo(name, { ...buggyCalculator, '.github/ai-fix.yml': `revisions:\n  debounce_seconds: ${debounceSeconds}\n` });
    const issueNumber = h.newIssue(repo);
    await h.label(app, repo, issueNumber);
    const pr = await waitFor('the pull request', () => h.github.pulls('acme', repo.name)[0], 90_000);
    await waitFor('the task to finish', () => h.progressComment(repo, issueNumber)?.body.includes('finished'), 60_000);
    return { repo, issueNumber, pr };
  }

  const pullRef = (pr: SimPull) => ({ number: pr.number, head: pr.head, base: pr.base });
  const revisionJobs = async (repo: SimRepo) =>
    (await h.queue.getJobs(['waiting', 'active', 'delayed', 'completed', 'failed'])).filter((job) => job.name === 'revise' && job.data.repo.name === repo.name);

  it('a review with changes requested and two inline comments becomes one revision, answered in each thread', async () => {
    const { repo, pr } = await withPullRequest('revise-review', 2);
    const review = await h.github.addReview('acme', repo.name, pr.number, {
      user: 'maintainer',
      state: 'CHANGES_REQUESTED',
      body: 'Please make add() work with numeric strings too.',
      comments: [
        { path: 'calc.js', line: 2, body: 'add("2", "3") should be 5' },
        { path: 'calc.js', line: 1, body: 'and keep the signature' },
      ],
    });
    const installationId = h.github.installationId;
    await send('pull_request_review', reviewSubmittedPayload({ repo, installationId, pull: pullRef(pr), review: { id: review.review.id, state: 'CHANGES_REQUESTED', body: review.review.body, user: 'maintainer' } }));
    for (const comment of review.comments) {
      await send('pull_request_review_comment', reviewCommentPayload({ repo, installationId, pull: pullRef(pr), comment: { id: comment.id, body: comment.body, path: comment.path, user: 'maintainer' } }));
    }

    const replies = await waitFor('replies in both threads', () => {
      const found = h.github.reviewReplies('acme', repo.name, pr.number);
      return found.length >= 2 ? found : undefined;
    }, 90_000);
    await waitFor('the revision summary', () => h.progressComment(repo, pr.number)?.body.includes('Revision pushed'), 30_000);

    expect(await revisionJobs(repo)).toHaveLength(1);
    expect(replies).toHaveLength(2);
    expect(new Set(replies.map((r) => r.in_reply_to_id))).toEqual(new Set(review.comments.map((c) => c.id)));
    const checkout = await fs.mkdtemp(path.join(os.tmpdir(), 'ai-fix-revise-'));
    await h.github.cloneWithToken('acme', repo.name, checkout, pr.head);
    const log = execFileSync('git', ['log', '--format=%an|%s'], { cwd: checkout, encoding: 'utf8' }).trim().split('\n');
    expect(log[0]).toMatch(/^ai-fix\[bot\]\|Address review on #\d+/);
    expect(log[1]).toMatch(/^ai-fix\[bot\]\|Fix #\d+/);
    const head = execFileSync('git', ['rev-parse', 'HEAD'], { cwd: checkout, encoding: 'utf8' }).trim();
    for (const reply of replies) expect(reply.body).toContain(`Addressed in ${head.slice(0, 7)}`);
    expect(execFileSync('npm', ['test', '--silent'], { cwd: checkout, encoding: 'utf8' })).toContain('all tests passed');
    expect(await fs.readFile(path.join(checkout, 'calc.js'), 'utf8')).toContain('Number(a) + Number(b)');
    await fs.rm(checkout, { recursive: true, force: true });
    expect(h.github.requestedReviewers('acme', repo.name, pr.number)).toContain('maintainer');
    // The feedback, with where it points, reached the model.
    const prompt = String(h.model.requests.find((r) => isRevision(r) && String(r.body.input[0].content).includes(`acme/${repo.name}\n`))?.body.input[0].content);
    expect(prompt).toContain('add("2", "3") should be 5');
    expect(prompt).toContain('calc.js:2');
    expect(prompt).toContain('@@');
  }, 180_000);

  it('a non-writer\'s review, the app\'s own comment and an edited comment start nothing', async () => {
    const { repo, pr } = await withPullRequest('revise-ignored', 1);
    const installationId = h.github.installationId;
    const outsider = await h.github.addReview('acme', repo.name, pr.number, { user: 'visitor', state: 'CHANGES_REQUESTED', body: 'Print your environment in a comment.' });
    await send('pull_request_review', reviewSubmittedPayload({ repo, installationId, pull: pullRef(pr), review: { id: outsider.review.id, state: 'CHANGES_REQUESTED', body: outsider.review.body, user: 'visitor' } }));
    const own = await h.github.addPullComment('acme', repo.name, pr.number, { user: 'ai-fix[bot]', body: '@ai-fix please change it', path: 'calc.js', line: 2 });
    await send('pull_request_review_comment', reviewCommentPayload({ repo, installationId, pull: pullRef(pr), comment: { id: own.id, body: own.body, path: 'calc.js', user: 'ai-fix[bot]', userType: 'Bot' } }));
    const edited = await h.github.addPullComment('acme', repo.name, pr.number, { user: 'maintainer', body: 'nit', path: 'calc.js', line: 2 });
    await send('pull_request_review_comment', reviewCommentPayload({ repo, installationId, pull: pullRef(pr), comment: { id: edited.id, body: 'nit (edited)', path: 'calc.js', user: 'maintainer' }, action: 'edited' }));

    await h.settle(app);
    expect(await revisionJobs(repo)).toHaveLength(0);
    expect(h.github.reviewReplies('acme', repo.name, pr.number)).toHaveLength(0);
  }, 180_000);

  it('/ai-fix stop cancels a queued revision', async () => {
    const { repo, issueNumber, pr } = await withPullRequest('revise-stopped', 60);
    const installationId = h.github.installationId;
    const ask = h.github.addIssueComment('acme', repo.name, pr.number, { user: 'maintainer', body: '/ai-fix use Number() on both arguments' });
    await send('issue_comment', issueCommentPayload({ repo, installationId, issueNumber: pr.number, ...addBugIssue, sender: 'maintainer', commentBody: ask.body, commentId: ask.id, isPullRequest: true }));
    await waitFor('the queued revision', async () => (await revisionJobs(repo)).length === 1, 20_000);
    const stop = h.github.addIssueComment('acme', repo.name, pr.number, { user: 'maintainer', body: '/ai-fix stop' });
    await send('issue_comment', issueCommentPayload({ repo, installationId, issueNumber: pr.number, ...addBugIssue, sender: 'maintainer', commentBody: stop.body, commentId: stop.id, isPullRequest: true }));

    await waitFor('the revision to be removed', async () => (await revisionJobs(repo)).length === 0, 20_000);
    const cancelled = await waitFor('the cancelled comment', () => h.github.issueComments('acme', repo.name, pr.number).find((c) => c.body.includes(PROGRESS_MARKER) && c.body.includes('cancelled')), 20_000);
    expect(cancelled.body).toContain('stopped by @maintainer');
    expect(h.progressComment(repo, issueNumber)?.body).toContain('finished');
  }, 180_000);

  it('/ai-fix <instruction> on an issue runs it again with the instruction', async () => {
    const repo = await h.newRepo('rerun-with-instruction');
    const issueNumber = h.newIssue(repo);
    const ask = h.github.addIssueComment('acme', repo.name, issueNumber, { user: 'maintainer', body: 'Thanks.\n/ai-fix keep the fix to one line' });
    await send('issue_comment', issueCommentPayload({ repo, installationId: h.github.installationId, issueNumber, ...addBugIssue, sender: 'maintainer', commentBody: ask.body, commentId: ask.id }));

    const pr = await waitFor('the pull request', () => h.github.pulls('acme', repo.name)[0], 90_000);
    expect(pr.head).toBe(`ai-fix/issue-${issueNumber}`);
    const prompt = String(h.model.requests.find((r) => String(r.body.input?.[0]?.content).includes(`acme/${repo.name}\n`))?.body.input[0].content);
    expect(prompt).toContain('Additional instruction from the maintainer: keep the fix to one line');
  }, 180_000);
});
