import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { buggyCalculator } from '../fixtures/buggy-calculator.ts';
import { waitFor, type AppProcess } from '../support/app-process.ts';
import type { SimPull, SimRepo } from '../support/github-sim.ts';
import { createHarness, PROGRESS_MARKER, WEBHOOK_SECRET, type Harness } from '../support/harness.ts';
import { fixThenFixCiScript, isCiFix } from '../support/scripted-agents.ts';
import { checkSuiteCompletedPayload, sendWebhook } from '../support/webhooks.ts';

const FAILING_LOG = [
  '2026-11-24T10:00:00.0000000Z ##[group]Run npm test',
  '2026-11-24T10:00:01.0000000Z > node test.js && node ci-extra.js',
  '2026-11-24T10:00:02.0000000Z AssertionError [ERR_ASSERTION]: add(-2, -3) expected -5',
  '2026-11-24T10:00:02.1000000Z not ok 2 - add handles negative numbers',
  '2026-11-24T10:00:02.2000000Z ##[error]Process completed with exit code 1.',
].join('\n');

const CI_WORKFLOW = 'on: pull_request\njobs:\n  test:\n    runs-on: ubuntu-latest\n    steps:\n      - uses: actions/checkout@v4\n      - run: npm test\n';

describe('run until CI passes', () => {
  let h: Harness;
  let app: AppProcess;

  beforeAll(async () => {
    h = await createHarness('fix-ci');
    app = await h.start('start');
    h.model.script(fixThenFixCiScript());
  }, 60_000);

  afterAll(async () => {
    await h?.close();
  });

  async function withPullRequest(name: string, config: string): Promise<{ repo: SimRepo; issueNumber: number; pr: SimPull }> {
    const repo = await h.newRepo(name, { ...buggyCalculator, '.github/ai-fix.yml': config, '.github/workflows/ci.yml': CI_WORKFLOW });
    const issueNumber = h.newIssue(repo);
    await h.label(app, repo, issueNumber);
    const pr = await waitFor('the pull request', () => h.github.pulls('acme', repo.name)[0], 90_000);
    await waitFor('the task to finish', () => h.progressComment(repo, issueNumber)?.body.includes('finished'), 60_000);
    return { repo, issueNumber, pr };
  }

  const headOf = async (repo: SimRepo, pr: SimPull) => (await h.github.branchSha('acme', repo.name, pr.head))!;
  /** Waits for the CI fix commit on top of `after`. */
  const nextHead = (repo: SimRepo, pr: SimPull, after: string) =>
    waitFor('the CI fix commit', async () => {
      const sha = await headOf(repo, pr);
      return sha !== after ? sha : undefined;
    }, 90_000);

  async function ciResult(repo: SimRepo, pr: SimPull, sha: string, conclusion: 'success' | 'failure', log = FAILING_LOG) {
    await h.github.addCheckRun('acme', repo.name, {
      headSha: sha,
      name: 'test',
      status: 'completed',
      conclusion,
      output: { title: conclusion === 'failure' ? '1 test failed' : 'All tests passed', summary: conclusion === 'failure' ? 'add handles negative numbers' : '' },
      annotations: conclusion === 'failure' ? [{ path: 'test.js', start_line: 4, end_line: 4, annotation_level: 'failure', message: 'add(-2, -3) expected -5' }] : [],
      workflowRun: { name: 'CI', jobLog: conclusion === 'failure' ? log : 'ok' },
    });
    return sendWebhook({
      url: app.webhookUrl,
      secret: WEBHOOK_SECRET,
      event: 'check_suite',
      payload: checkSuiteCompletedPayload({ repo, installationId: h.github.installationId, sha, branch: pr.head, conclusion }),
    });
  }

  const ciJobs = async (repo: SimRepo) => (await h.queue.getJobs(['waiting', 'active', 'delayed', 'completed', 'failed'])).filter((j) => j.name === 'fix-ci' && j.data.repo.name === repo.name);
  const prComments = (repo: SimRepo, pr: SimPull) => h.github.issueComments('acme', repo.name, pr.number).filter((c) => c.body.includes(PROGRESS_MARKER));

  it('a failed check with a log → one fix-ci task → a new commit → green → ready for review, review requested', async () => {
    const { repo, pr } = await withPullRequest('ci-red-then-green', 'draft: true\n');
    expect(pr.draft).toBe(true);
    expect(pr.body).toContain("CI (GitHub Actions workflows): ai-fix watches this pull request's checks and, when one fails, reads the failure and pushes a fix (up to 3 attempts).");
    const first = await headOf(repo, pr);
    await ciResult(repo, pr, first, 'failure');

    const second = await nextHead(repo, pr, first);
    const prompt = String(h.model.requests.find((r) => isCiFix(r) && String(r.body.input[0].content).includes(`acme/${repo.name}\n`))?.body.input[0].content);
    expect(prompt).toContain('not ok 2 - add handles negative numbers');
    expect(prompt).toContain('test.js:4: add(-2, -3) expected -5');
    // A late event for the old commit starts nothing.
    await ciResult(repo, pr, first, 'failure');
    await ciResult(repo, pr, second, 'success');

    await waitFor('the pull request to be ready', () => h.github.pulls('acme', repo.name)[0]?.draft === false, 60_000);
    await waitFor('the green comment', () => prComments(repo, pr).some((c) => c.body.includes('checks pass')), 30_000);
    expect(h.github.requestedReviewers('acme', repo.name, pr.number)).toContain('maintainer');
    const green = prComments(repo, pr).find((c) => c.body.includes('checks pass'))!;
    expect(green.body).toMatch(/Total cost: \$\d+\.\d\d/);
    const jobs = await waitFor('the green job to complete', async () => {
      const all = await ciJobs(repo);
      return all.some((j) => j.returnvalue?.outcome === 'ci-green') ? all : undefined;
    }, 30_000);
    expect(jobs.filter((j) => j.returnvalue?.outcome === 'pr-updated')).toHaveLength(1);
    expect(jobs.filter((j) => j.returnvalue?.outcome === 'ci-green')).toHaveLength(1);
  }, 180_000);

  it('the same failure after a fix stops with a comment instead of looping', async () => {
    const { repo, pr } = await withPullRequest('ci-same-failure', 'ci:\n  max_attempts: 5\n');
    const first = await headOf(repo, pr);
    await ciResult(repo, pr, first, 'failure');
    const second = await nextHead(repo, pr, first);
    await ciResult(repo, pr, second, 'failure');

    const stop = await waitFor('the stop comment', () => prComments(repo, pr).find((c) => c.body.includes('failed the same way again')), 60_000);
    expect(stop.body).toContain('a human needs to look');
    expect(await headOf(repo, pr)).toBe(second);
  }, 180_000);

  it('the attempt cap holds', async () => {
    const { repo, pr } = await withPullRequest('ci-capped', 'ci:\n  max_attempts: 1\n');
    const first = await headOf(repo, pr);
    await ciResult(repo, pr, first, 'failure');
    const second = await nextHead(repo, pr, first);
    await ciResult(repo, pr, second, 'failure', `${FAILING_LOG}\nnot ok 3 - add handles floats`);

    const stop = await waitFor('the cap comment', () => prComments(repo, pr).find((c) => c.body.includes('after 1 fix attempts')), 60_000);
    expect(stop.body).toContain('ci.max_attempts');
    expect(await headOf(repo, pr)).toBe(second);
  }, 180_000);

  it('a failure that also fails on the base branch is reported as pre-existing, not chased', async () => {
    const { repo, pr } = await withPullRequest('ci-pre-existing', 'ci:\n  max_attempts: 3\n');
    const mainSha = (await h.github.branchSha('acme', repo.name, 'main'))!;
    await h.github.addCheckRun('acme', repo.name, { headSha: mainSha, name: 'test', status: 'completed', conclusion: 'failure', output: { title: '1 test failed', summary: '' }, annotations: [], workflowRun: { name: 'CI', jobLog: FAILING_LOG } });
    const first = await headOf(repo, pr);
    await ciResult(repo, pr, first, 'failure');

    const stop = await waitFor('the pre-existing comment', () => prComments(repo, pr).find((c) => c.body.includes('pre-existing')), 60_000);
    expect(stop.body).toContain('also fails on `main`');
    expect(await headOf(repo, pr)).toBe(first);
    expect((await ciJobs(repo)).filter((j) => j.returnvalue?.outcome === 'pr-updated')).toHaveLength(0);
  }, 180_000);
});
