import crypto from 'node:crypto';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { execFileSync } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { addBugIssue, buggyCalculator } from '../fixtures/buggy-calculator.ts';
import { waitFor, type AppProcess } from '../support/app-process.ts';
import { createHarness, PROGRESS_MARKER, WEBHOOK_SECRET, type Harness } from '../support/harness.ts';
import { fixingCalculatorTurns, neverGreenTurns } from '../support/scripted-agents.ts';
import { issueEventPayload, sendWebhook } from '../support/webhooks.ts';

const ALL_STATES = ['waiting', 'active', 'completed', 'failed', 'delayed'] as const;

describe('a labelled issue becomes a tested pull request', () => {
  let h: Harness;
  let app: AppProcess;

  beforeAll(async () => {
    h = await createHarness('e2e');
    app = await h.start('start');
  }, 60_000);

  afterAll(async () => {
    await h?.close();
  });

  it('opens a PR on ai-fix/issue-N whose tests pass, and the progress comment ends with its link', async () => {
    const repo = await h.newRepo('calculator');
    const issueNumber = h.newIssue(repo);
    h.model.script(fixingCalculatorTurns());
    const started = Date.now();

    const response = await h.label(app, repo, issueNumber);
    expect(response.status).toBe(200);

    const pr = await waitFor('the pull request', () => h.github.pulls('acme', repo.name)[0], 90_000);
    const finalComment = await waitFor('the final progress comment', () => {
      const comment = h.progressComment(repo, issueNumber);
      return comment?.body.includes('finished') ? comment : undefined;
    }, 60_000);
    const elapsed = Date.now() - started;
    process.stdout.write(`e2e: label → PR and final comment in ${(elapsed / 1000).toFixed(1)} s\n`);

    expect(pr.head).toBe(`ai-fix/issue-${issueNumber}`);
    expect(pr.base).toBe('main');
    expect(pr.draft).toBe(false);
    expect(pr.body).toContain(`Fixes #${issueNumber}`);
    expect(pr.body).toContain('`npm test`: ✅ passed');
    // The worker's own runs, not the model's word: failing on the base, passing on the branch.
    expect(pr.body).toContain('## Verification');
    expect(pr.body).toContain('`npm test` failed (exit 1) on the base, passed (exit 0) on this branch.');
    // The fixture has no CI: the PR must not suggest that anything else checked it.
    expect(pr.body).toContain('**No CI is configured** for this repository');
    expect(pr.body).toMatch(/\*\*\$0\.\d{3}\*\* · \d[\d,]* tokens/);
    expect(finalComment.body).toContain(`/pull/${pr.number}`);
    expect(finalComment.body).toContain('- [x] Tests run — `npm test` passed');
    expect(finalComment.body).toContain('- [x] Branch pushed');
    expect(finalComment.body).not.toContain('[!WARNING]');
    expect(h.github.issueComments('acme', repo.name, issueNumber).filter((c) => c.body.includes(PROGRESS_MARKER))).toHaveLength(1);
    expect(h.github.issueReactions('acme', repo.name, issueNumber)).toContain('eyes');

    // A fresh clone of the branch passes its tests.
    const checkout = await fs.mkdtemp(path.join(os.tmpdir(), 'ai-fix-e2e-check-'));
    await h.github.cloneWithToken('acme', repo.name, checkout, pr.head);
    expect(execFileSync('npm', ['test', '--silent'], { cwd: checkout, encoding: 'utf8' })).toContain('all tests passed');
    const log = execFileSync('git', ['log', '-1', '--format=%an <%ae>%n%s'], { cwd: checkout, encoding: 'utf8' });
    // GitHub links a bot's commits by its user id, on the host name without a port.
    const bot = h.github.botLogin;
    expect(log.split('\n')[0]).toBe(`${bot} <${h.github.userId(bot)}+${bot}@users.noreply.${new URL(h.github.url).hostname}>`);
    expect(log).toContain(`#${issueNumber}`);
    await fs.rm(checkout, { recursive: true, force: true });

    // No credential reached the model, the logs or GitHub.
    // (The model key is in the model requests' Authorization header by design; bodies are checked.)
    const places: Record<string, string> = {
      'model request bodies': JSON.stringify(h.model.requests.map((r) => r.body)),
      logs: app.output(),
      comments: JSON.stringify(h.github.issueComments('acme', repo.name, issueNumber)),
      'PR body': pr.body,
    };
    for (const secret of [...h.github.issuedTokens(), h.model.apiKey, WEBHOOK_SECRET]) {
      for (const [place, text] of Object.entries(places)) expect(`${place}: ${text.includes(secret)}`).toBe(`${place}: false`);
    }
  }, 120_000);

  it('a label from someone without write access makes one polite comment and no task', async () => {
    const repo = await h.newRepo('calculator-readonly');
    const issueNumber = h.newIssue(repo, 'visitor');
    const before = await h.queue.getJobCountByTypes(...ALL_STATES);

    expect((await h.label(app, repo, issueNumber, { sender: 'visitor' })).status).toBe(200);

    const comment = await waitFor('the polite comment', () => h.github.issueComments('acme', repo.name, issueNumber)[0], 20_000);
    expect(comment.body).toContain('write access');
    expect(await h.queue.getJobCountByTypes(...ALL_STATES)).toBe(before);
    expect(h.github.pulls('acme', repo.name)).toHaveLength(0);
    expect(h.github.issueComments('acme', repo.name, issueNumber)).toHaveLength(1);
  }, 60_000);

  it('a bad .github/ai-fix.yml gets a comment naming the field, and no task', async () => {
    const repo = await h.newRepo('calculator-bad-config', { ...buggyCalculator, '.github/ai-fix.yml': 'limits:\n  steps: many\n' });
    const issueNumber = h.newIssue(repo);
    const before = await h.queue.getJobCountByTypes(...ALL_STATES);

    expect((await h.label(app, repo, issueNumber)).status).toBe(200);

    const comment = await waitFor('the config comment', () => h.github.issueComments('acme', repo.name, issueNumber)[0], 20_000);
    expect(comment.body).toContain('`.github/ai-fix.yml` is invalid');
    expect(comment.body).toContain('`limits.steps`');
    expect(await h.queue.getJobCountByTypes(...ALL_STATES)).toBe(before);
    expect((await fetch(`${app.url}/healthz`)).status).toBe(200);
  }, 60_000);

  it('the same delivery twice makes one task and one PR', async () => {
    const repo = await h.newRepo('calculator-redelivered');
    const issueNumber = h.newIssue(repo);
    h.model.script(fixingCalculatorTurns());
    const deliveryId = crypto.randomUUID();

    const [first, second] = await Promise.all([h.label(app, repo, issueNumber, { deliveryId }), h.label(app, repo, issueNumber, { deliveryId })]);
    expect([first.status, second.status]).toEqual([200, 200]);
    await waitFor('the pull request', () => h.github.pulls('acme', repo.name)[0], 90_000);
    await waitFor('the final progress comment', () => h.progressComment(repo, issueNumber)?.body.includes('finished'), 60_000);
    expect((await h.label(app, repo, issueNumber, { deliveryId })).status).toBe(200);
    await h.settle(app);

    expect(h.github.pulls('acme', repo.name)).toHaveLength(1);
    const jobs = await h.queue.getJobs([...ALL_STATES]);
    expect(jobs.filter((job) => job.data.repo.name === repo.name)).toHaveLength(1);
  }, 120_000);

  it('a GitHub failure while the label is decided is retried: the delivery is answered and the task still starts', async () => {
    const repo = await h.newRepo('calculator-flaky-github');
    const issueNumber = h.newIssue(repo);
    h.model.script(fixingCalculatorTurns());
    const permission = new RegExp(`/repos/acme/${repo.name}/collaborators/maintainer/permission$`);
    // More failures than octokit's own retries absorb, so the intake's first attempt fails.
    h.github.failNext('GET', permission, 502, 4);

    expect((await h.label(app, repo, issueNumber)).status).toBe(200);

    await waitFor('the pull request', () => h.github.pulls('acme', repo.name)[0], 90_000);
    await waitFor('the final progress comment', () => h.progressComment(repo, issueNumber)?.body.includes('finished'), 60_000);
    const reads = h.github.requests.filter((r) => r.method === 'GET' && permission.test(r.path)).map((r) => r.status);
    expect(reads).toEqual([502, 502, 502, 502, 200]);
    expect(app.output()).toContain('label intake failed; retrying');
    expect(h.github.pulls('acme', repo.name)).toHaveLength(1);
  }, 120_000);

  it('a label removed while it is still being decided starts nothing', async () => {
    const repo = await h.newRepo('calculator-changed-mind');
    const issueNumber = h.newIssue(repo);
    const permission = new RegExp(`/repos/acme/${repo.name}/collaborators/maintainer/permission$`);
    // The intake's first attempt fails, so the label is still undecided when it is removed.
    h.github.failNext('GET', permission, 502, 4);
    const before = await h.queue.getJobCountByTypes(...ALL_STATES);

    expect((await h.label(app, repo, issueNumber)).status).toBe(200);
    await waitFor('the failed reads', () => h.github.requests.filter((r) => permission.test(r.path) && r.status === 502).length === 4, 60_000);
    const unlabeled = issueEventPayload('unlabeled', { repo, installationId: h.github.installationId, issueNumber, ...addBugIssue, sender: 'maintainer', label: 'ai-fix' });
    expect((await sendWebhook({ url: app.webhookUrl, secret: WEBHOOK_SECRET, event: 'issues', payload: unlabeled })).status).toBe(200);

    await waitFor('the decision', () => app.output().includes('the label was removed or the issue closed while the label was decided; no task'), 60_000);
    expect(await h.queue.getJobCountByTypes(...ALL_STATES)).toBe(before);
    expect(h.github.issueComments('acme', repo.name, issueNumber)).toHaveLength(0);
    expect(h.github.pulls('acme', repo.name)).toHaveLength(0);
  }, 120_000);

  it('a model that never reaches green ends in a clear failure comment and a draft PR', async () => {
    const repo = await h.newRepo('calculator-stuck', { ...buggyCalculator, '.github/ai-fix.yml': 'limits:\n  steps: 4\n  repeated_failures: 10\n' });
    const issueNumber = h.newIssue(repo);
    h.model.script(neverGreenTurns(10));

    await h.label(app, repo, issueNumber);
    const comment = await waitFor('the failure comment', () => {
      const c = h.progressComment(repo, issueNumber);
      return c?.body.includes('could not finish') ? c : undefined;
    }, 90_000);

    expect(comment.body).toContain('step limit reached (4 steps)');
    // The checklist says what happened: the tests ran (and failed), the work was pushed as a draft.
    expect(comment.body).toContain('- [x] Agent working');
    expect(comment.body).toContain('- [x] Tests run — `npm test` failed');
    expect(comment.body).toContain('- [x] Branch pushed');
    expect(comment.body).toContain('- [x] Pull request holds the work so far');
    expect(comment.body).toMatch(/ · \$0\.\d{3}/);
    const [pr] = h.github.pulls('acme', repo.name);
    expect(pr?.draft).toBe(true);
    expect(pr?.body).toContain('❌ failed');
    expect(comment.body).toContain(`/pull/${pr?.number}`);
  }, 120_000);

  it('a repository without tests gets a draft PR that says nothing verified it, and a cut issue is named', async () => {
    const repo = await h.newRepo('calculator-untested', { 'calc.js': buggyCalculator['calc.js']!, 'README.md': '# calculator\n' });
    const issueNumber = h.github.createIssue('acme', repo.name, { title: addBugIssue.title, body: `${addBugIssue.body}\n\n${'log line\n'.repeat(7_500)}`, user: 'maintainer' });
    h.model.script([
      { toolCalls: [{ name: 'read_file', arguments: { path: 'calc.js', start_line: null, end_line: null } }] },
      { toolCalls: [{ name: 'edit_file', arguments: { path: 'calc.js', old_string: 'return a - b;', new_string: 'return a + b;' } }] },
      { toolCalls: [{ name: 'finish', arguments: { summary: 'Fixed `add` in `calc.js`.' } }] },
    ]);

    await h.label(app, repo, issueNumber);
    const comment = await waitFor('the final progress comment', () => {
      const c = h.progressComment(repo, issueNumber);
      return c?.body.includes('finished') ? c : undefined;
    }, 90_000);

    const [pr] = h.github.pulls('acme', repo.name);
    expect(pr?.draft).toBe(true);
    const [first, second] = pr?.body.split('\n') ?? [];
    expect(first).toBe('> [!WARNING]');
    expect(second).toContain('No test command ran, so nothing verified this change. Set `test:`');
    expect(comment.body).toContain('No test command ran, so nothing verified this change.');
    expect(comment.body).toContain('- [ ] Tests run — no test command');
    expect(comment.body).toContain('- [x] Branch pushed');
    // The 60,000-character description was cut for the model, which was told, and so were the people.
    const cut = /The issue's description is 6\d,\d{3} characters long: the agent saw only the first 30,000/;
    expect(comment.body).toMatch(cut);
    expect(pr?.body).toMatch(cut);
    const prompts = h.model.requests.map((r) => JSON.stringify(r.body)).filter((body) => body.includes(`acme/${repo.name}`));
    expect(prompts[0]).toMatch(/cut here: this text is 6\d,\d{3} characters long; only the first 30,000 are shown/);
  }, 120_000);

  it('a pull request GitHub would not open leaves a comment pointing to the pushed branch and how to open it', async () => {
    const repo = await h.newRepo('calculator-no-pull');
    const issueNumber = h.newIssue(repo);
    h.model.script(fixingCalculatorTurns());
    h.github.failNext('POST', new RegExp(`/repos/acme/${repo.name}/pulls$`), 422);

    await h.label(app, repo, issueNumber);
    const comment = await waitFor('the failure comment', () => {
      const c = h.progressComment(repo, issueNumber);
      return c?.body.includes('could not finish') ? c : undefined;
    }, 90_000);

    const branch = `ai-fix/issue-${issueNumber}`;
    expect(await h.github.branchSha('acme', repo.name, branch)).toMatch(/^[0-9a-f]{40}$/);
    expect(h.github.pulls('acme', repo.name)).toHaveLength(0);
    expect(comment.body).toContain(`the branch [\`${branch}\`](${h.github.url}/acme/${repo.name}/tree/${branch}) holds the work, but GitHub did not open the pull request: GitHub answered HTTP 422`);
    expect(comment.body).toContain(`Open it by hand from [this comparison](${h.github.url}/acme/${repo.name}/compare/main...${branch}?expand=1), or add the \`ai-fix\` label again to retry`);
    expect(comment.body).toContain('- [x] Branch pushed');
    expect(comment.body).toContain('- [ ] Pull request ready');
  }, 120_000);
});
