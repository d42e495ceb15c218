import { execFileSync } from 'node:child_process';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { addBugIssue, buggyCalculator } from '../fixtures/buggy-calculator.ts';
import { waitFor, type AppProcess } from '../support/app-process.ts';
import type { SimPull, SimRepo } from '../support/github-sim.ts';
import { createHarness, PROGRESS_MARKER, WEBHOOK_SECRET, type Harness } from '../support/harness.ts';
import { fixThenResolveScript, isConflictResolution } from '../support/scripted-agents.ts';
import { issueCommentPayload, pushPayload, sendWebhook } from '../support/webhooks.ts';

// What others merged into main while the pull request waited: the same line of `add` changed,
// plus a new function and its test.
const MAIN_CALC = 'function add(a, b) {\n  return Number(a) - Number(b);\n}\n\nfunction multiply(a, b) {\n  return a * b;\n}\n\nmodule.exports = { add, multiply };\n';
const MAIN_TEST =
  "const assert = require('node:assert');\nconst { add, multiply } = require('./calc.js');\n\nassert.strictEqual(add(2, 3), 5);\nassert.strictEqual(multiply(2, 3), 6);\nconsole.log('all tests passed');\n";
const RESOLVED_CALC = 'function add(a, b) {\n  return Number(a) + Number(b);\n}\n\nfunction multiply(a, b) {\n  return a * b;\n}\n\nmodule.exports = { add, multiply };\n';

describe('conflicts: the base branch moves, ai-fix merges it in', () => {
  let h: Harness;
  let app: AppProcess;

  beforeAll(async () => {
    h = await createHarness('rebase');
    app = await h.start('start');
    h.model.script(fixThenResolveScript('calc.js', RESOLVED_CALC));
  }, 60_000);

  afterAll(async () => {
    await h?.close();
  });

  async function withPullRequest(name: string, extra: Record<string, string> = {}): Promise<{ repo: SimRepo; issueNumber: number; pr: SimPull }> {
    const repo = await h.newRepo(name, { ...buggyCalculator, ...extra });
    const issueNumber = h.newIssue(repo);
    await h.label(app, repo, issueNumber);
    const pr = await waitFor('the pull request', () => h.github.pulls('acme', repo.name)[0], 90_000);
    await waitFor('the task to finish', () => h.progressComment(repo, issueNumber)?.body.includes('finished'), 60_000);
    return { repo, issueNumber, pr };
  }

  const send = (event: string, payload: unknown) => sendWebhook({ url: app.webhookUrl, secret: WEBHOOK_SECRET, event, payload });
  const askToRebase = (repo: SimRepo, pr: SimPull) => {
    const ask = h.github.addIssueComment('acme', repo.name, pr.number, { user: 'maintainer', body: '/ai-fix rebase' });
    return send('issue_comment', issueCommentPayload({ repo, installationId: h.github.installationId, issueNumber: pr.number, ...addBugIssue, sender: 'maintainer', commentBody: ask.body, commentId: ask.id, isPullRequest: true }));
  };
  const pushToMain = async (repo: SimRepo, files: Record<string, string>, message: string) => {
    const { before, after } = await h.github.pushCommit('acme', repo.name, 'main', files, message);
    return send('push', pushPayload({ repo, installationId: h.github.installationId, branch: 'main', before, after, sender: 'maintainer' }));
  };
  const headOf = async (repo: SimRepo, pr: SimPull) => (await h.github.branchSha('acme', repo.name, pr.head))!;
  const rebaseJobs = async (repo: SimRepo) => (await h.queue.getJobs(['waiting', 'active', 'delayed', 'completed', 'failed'])).filter((j) => j.name === 'rebase' && j.data.repo.name === repo.name);
  const lastPrProgress = (repo: SimRepo, pr: SimPull) => h.github.issueComments('acme', repo.name, pr.number).filter((c) => c.body.includes(PROGRESS_MARKER)).at(-1)?.body;

  /** A fresh clone of the branch: its head commit's parents, main's head, `calc.js` and the test run. */
  async function inspectBranch(repo: SimRepo, pr: SimPull) {
    const checkout = await fs.mkdtemp(path.join(os.tmpdir(), 'ai-fix-rebase-'));
    try {
      await h.github.cloneWithToken('acme', repo.name, checkout, pr.head);
      const run = (args: string[]) => execFileSync('git', args, { cwd: checkout, encoding: 'utf8' }).trim();
      const files = await Promise.all(['calc.js', 'test.js'].map((file) => fs.readFile(path.join(checkout, file), 'utf8')));
      return {
        parents: run(['log', '-1', '--format=%P']).split(' '),
        mainSha: await h.github.branchSha('acme', repo.name, 'main'),
        markers: files.some((text) => /^(<{7}|>{7})/m.test(text)),
        calc: files[0],
        test: execFileSync('npm', ['test', '--silent'], { cwd: checkout, encoding: 'utf8' }),
      };
    } finally {
      await fs.rm(checkout, { recursive: true, force: true });
    }
  }

  it('/ai-fix rebase with a conflict: the agent resolves it in one merge commit that passes the tests', async () => {
    const { repo, pr } = await withPullRequest('rebase-conflict');
    expect((await pushToMain(repo, { 'calc.js': MAIN_CALC, 'test.js': MAIN_TEST }, 'Coerce inputs; add multiply')).status).toBe(200);
    const before = await headOf(repo, pr);

    expect((await askToRebase(repo, pr)).status).toBe(200);
    const after = await waitFor('the merge commit', async () => {
      const sha = await headOf(repo, pr);
      return sha !== before ? sha : undefined;
    }, 90_000);
    await waitFor('the rebase to be reported', () => lastPrProgress(repo, pr)?.includes('finished'), 30_000);

    const branch = await inspectBranch(repo, pr);
    expect(branch.parents).toEqual([before, branch.mainSha]);
    expect(branch.markers).toBe(false);
    expect(branch.calc).toBe(RESOLVED_CALC);
    expect(branch.test).toContain('all tests passed');
    expect(after).toBe(await headOf(repo, pr));
    const prompt = String(h.model.requests.find((r) => isConflictResolution(r) && String(r.body.input[0].content).includes(`acme/${repo.name}\n`))?.body.input[0].content);
    expect(prompt).toContain('- calc.js');
    expect(lastPrProgress(repo, pr)).toContain('resolved conflicts in `calc.js`');
    expect(h.github.pulls('acme', repo.name)).toHaveLength(1);
    expect(await rebaseJobs(repo)).toHaveLength(1);
  }, 180_000);

  it('/ai-fix rebase without a conflict merges main in and runs the tests, with no model call', async () => {
    const { repo, pr } = await withPullRequest('rebase-clean');
    await pushToMain(repo, { 'README.md': '# calculator\n\nAdds numbers.\n' }, 'Describe the project');
    const before = await headOf(repo, pr);
    const modelCalls = h.model.requests.length;

    await askToRebase(repo, pr);
    await waitFor('the merge commit', async () => ((await headOf(repo, pr)) !== before ? true : undefined), 90_000);
    await waitFor('the rebase to be reported', () => lastPrProgress(repo, pr)?.includes('no conflicts'), 30_000);
    const branch = await inspectBranch(repo, pr);
    expect(branch.parents).toEqual([before, branch.mainSha]);
    expect(lastPrProgress(repo, pr)).toContain('`npm test` passes');
    expect(h.model.requests.length).toBe(modelCalls);
  }, 180_000);

  it('with rebase.auto, a push that conflicts is merged in; one that does not changes nothing', async () => {
    const { repo, pr } = await withPullRequest('rebase-auto', { '.github/ai-fix.yml': 'rebase:\n  auto: true\n' });
    const start = await headOf(repo, pr);

    await pushToMain(repo, { 'README.md': '# calculator\n\nAdds numbers.\n' }, 'Describe the project');
    const skipped = await waitFor('the conflict check', async () => (await rebaseJobs(repo)).find((j) => j.returnvalue?.outcome === 'skipped'), 60_000);
    expect(skipped.returnvalue.reason).toBe('the pull request still merges cleanly');
    expect(await headOf(repo, pr)).toBe(start);

    await pushToMain(repo, { 'calc.js': MAIN_CALC, 'test.js': MAIN_TEST }, 'Coerce inputs; add multiply');
    await waitFor('the merge commit', async () => ((await headOf(repo, pr)) !== start ? true : undefined), 90_000);
    await waitFor('the rebase to be reported', () => lastPrProgress(repo, pr)?.includes('finished'), 30_000);
    const branch = await inspectBranch(repo, pr);
    expect(branch.parents).toEqual([start, branch.mainSha]);
    expect(branch.calc).toBe(RESOLVED_CALC);
  }, 180_000);

  it('without rebase.auto a push to main starts nothing', async () => {
    const { repo, pr } = await withPullRequest('rebase-manual-only');
    const start = await headOf(repo, pr);
    await pushToMain(repo, { 'calc.js': MAIN_CALC, 'test.js': MAIN_TEST }, 'Coerce inputs; add multiply');
    await h.settle(app);
    expect(await rebaseJobs(repo)).toHaveLength(0);
    expect(await headOf(repo, pr)).toBe(start);
  }, 120_000);
});
