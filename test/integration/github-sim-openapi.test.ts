import { afterAll, beforeAll, expect, it } from '@jest/globals';
import { createAppAuth } from '@octokit/auth-app';
import { Octokit } from '@octokit/rest';
import { startGitHubSim, type GitHubSim } from '../support/github-sim.ts';
import { loadGitHubOpenApi, type ResponseCheck } from '../support/openapi-check.ts';

// The simulator must not drift from GitHub: every REST route ai-fix calls is driven here through
// the real Octokit, and each response is checked against GitHub's published OpenAPI description.
const log = { debug: () => {}, info: () => {}, warn: () => {}, error: () => {} };
const OWNER = 'acme';
const NAME = 'conformance';

let sim: GitHubSim;
const openapi = loadGitHubOpenApi();

beforeAll(async () => {
  sim = await startGitHubSim();
});

afterAll(async () => {
  await sim?.close();
});

/** What the routes answered, checked as they come. */
const checks: ResponseCheck[] = [];

async function call(octokit: Octokit, route: string, params: Record<string, unknown> = {}): Promise<{ status: number; data: any }> {
  const response = await octokit.request(route, params);
  checks.push(openapi.check(route, response.status, response.data));
  return response;
}

it('answers every REST route ai-fix uses as GitHub documents it', async () => {
  const repo = await sim.createRepo({ owner: OWNER, name: NAME, ownerType: 'Organization', files: { 'README.md': '# conformance\n', '.github/ai-fix.yml': 'limits:\n  steps: 10\n' } });
  sim.setPermission(OWNER, NAME, 'maintainer', 'write');
  sim.setTeamMember(OWNER, 'core', 'maintainer');
  const app = new Octokit({ log, baseUrl: sim.apiUrl, authStrategy: createAppAuth, auth: { appId: sim.appId, privateKey: sim.privateKey } });
  const repoParams = { owner: OWNER, repo: NAME };

  // The app and its installation.
  await call(app, 'GET /app');
  await call(app, 'GET /app/installations');
  const token = (await call(app, 'POST /app/installations/{installation_id}/access_tokens', { installation_id: sim.installationId })).data.token as string;
  const octokit = new Octokit({ log, baseUrl: sim.apiUrl, auth: token });
  await call(octokit, 'GET /installation/repositories');

  // Deciding a label: the repository, its config, the sender.
  await call(octokit, 'GET /repos/{owner}/{repo}', repoParams);
  await call(octokit, 'GET /repos/{owner}/{repo}/contents/{path}', { ...repoParams, path: '.github/ai-fix.yml' });
  await call(octokit, 'GET /repos/{owner}/{repo}/collaborators/{username}/permission', { ...repoParams, username: 'maintainer' });
  await call(octokit, 'GET /users/{username}', { username: 'maintainer' });
  await call(octokit, 'GET /orgs/{org}/teams/{team_slug}/memberships/{username}', { org: OWNER, team_slug: 'core', username: 'maintainer' });

  // The issue and its progress comment.
  const issueNumber = sim.createIssue(OWNER, NAME, { title: 'add() subtracts', body: 'It should add.', user: 'maintainer' });
  await call(octokit, 'GET /repos/{owner}/{repo}/issues/{issue_number}', { ...repoParams, issue_number: issueNumber });
  await call(octokit, 'GET /repos/{owner}/{repo}/issues', { ...repoParams, labels: 'ai-fix', state: 'open' });
  const comment = (await call(octokit, 'POST /repos/{owner}/{repo}/issues/{issue_number}/comments', { ...repoParams, issue_number: issueNumber, body: 'working on it' })).data;
  await call(octokit, 'PATCH /repos/{owner}/{repo}/issues/comments/{comment_id}', { ...repoParams, comment_id: comment.id, body: 'finished' });
  await call(octokit, 'GET /repos/{owner}/{repo}/issues/{issue_number}/comments', { ...repoParams, issue_number: issueNumber });
  await call(octokit, 'POST /repos/{owner}/{repo}/issues/{issue_number}/reactions', { ...repoParams, issue_number: issueNumber, content: 'eyes' });
  const asked = sim.addIssueComment(OWNER, NAME, issueNumber, { user: 'maintainer', body: '/ai-fix try again' });
  await call(octokit, 'POST /repos/{owner}/{repo}/issues/comments/{comment_id}/reactions', { ...repoParams, comment_id: asked.id, content: 'eyes' });

  // The pull request, its reviews and review comments.
  await sim.createBranch(OWNER, NAME, 'ai-fix/issue-1');
  await sim.pushCommit(OWNER, NAME, 'ai-fix/issue-1', { 'calc.js': 'module.exports = (a, b) => a + b;\n' }, 'Fix add');
  const pull = (await call(octokit, 'POST /repos/{owner}/{repo}/pulls', { ...repoParams, head: 'ai-fix/issue-1', base: repo.defaultBranch, title: 'Fix add', body: `Fixes #${issueNumber}`, draft: true })).data;
  await call(octokit, 'GET /repos/{owner}/{repo}/pulls', { ...repoParams, head: `${OWNER}:ai-fix/issue-1`, state: 'all' });
  await call(octokit, 'GET /repos/{owner}/{repo}/pulls/{pull_number}', { ...repoParams, pull_number: pull.number });
  await call(octokit, 'PATCH /repos/{owner}/{repo}/pulls/{pull_number}', { ...repoParams, pull_number: pull.number, body: `Fixes #${issueNumber}\n\nVerified.` });
  const { comments } = await sim.addReview(OWNER, NAME, pull.number, { user: 'maintainer', state: 'CHANGES_REQUESTED', body: 'Please rename.', comments: [{ path: 'calc.js', line: 1, body: 'name it add' }] });
  await call(octokit, 'GET /repos/{owner}/{repo}/pulls/{pull_number}/reviews', { ...repoParams, pull_number: pull.number });
  await call(octokit, 'GET /repos/{owner}/{repo}/pulls/{pull_number}/comments', { ...repoParams, pull_number: pull.number });
  await call(octokit, 'POST /repos/{owner}/{repo}/pulls/{pull_number}/comments/{comment_id}/replies', { ...repoParams, pull_number: pull.number, comment_id: comments[0]!.id, body: 'Done in abc123.' });
  await call(octokit, 'POST /repos/{owner}/{repo}/pulls/comments/{comment_id}/reactions', { ...repoParams, comment_id: comments[0]!.id, content: 'eyes' });
  await call(octokit, 'POST /repos/{owner}/{repo}/pulls/{pull_number}/requested_reviewers', { ...repoParams, pull_number: pull.number, reviewers: ['maintainer'] });

  // CI on the pull request's head.
  const head = pull.head.sha as string;
  const run = await sim.addCheckRun(OWNER, NAME, { headSha: head, name: 'test', status: 'completed', conclusion: 'failure', output: { title: 'tests failed', summary: '1 failed' }, annotations: [{ path: 'calc.js', start_line: 1, end_line: 1, annotation_level: 'failure', message: 'expected 5' }] });
  sim.setCommitStatus(OWNER, NAME, head, { state: 'failure', context: 'ci/legacy', description: 'failed' });
  await call(octokit, 'GET /repos/{owner}/{repo}/commits/{ref}/check-runs', { ...repoParams, ref: head });
  await call(octokit, 'GET /repos/{owner}/{repo}/check-runs/{check_run_id}/annotations', { ...repoParams, check_run_id: run.id });
  await call(octokit, 'GET /repos/{owner}/{repo}/commits/{ref}/status', { ...repoParams, ref: head });

  // Redelivering webhooks the app missed, and the end of a task.
  sim.configureWebhook({ url: 'http://127.0.0.1:9/unreachable', secret: 'conformance-secret', timeoutMs: 1_000 });
  await sim.deliver('ping', { zen: 'Keep it logically awesome.' });
  const deliveries = (await call(app, 'GET /app/hook/deliveries', { per_page: 100 })).data;
  await call(app, 'POST /app/hook/deliveries/{delivery_id}/attempts', { delivery_id: deliveries[0].id });
  await sim.deliveriesSettled().catch(() => undefined);
  await call(octokit, 'DELETE /installation/token');

  const covered = checks.map((c) => `${c.route} → ${c.status}`);
  process.stdout.write(`github-sim-openapi: ${covered.length} responses checked:\n  ${covered.join('\n  ')}\n`);
  expect(checks.filter((c) => c.errors.length > 0)).toEqual([]);
}, 60_000);

it('the check is live: a response that breaks the schema fails it', () => {
  const broken = openapi.check('GET /users/{username}', 200, { login: 'maintainer', id: 'not-a-number' });
  expect(broken.errors.length).toBeGreaterThan(0);
  expect(openapi.documents('GET /repos/{owner}/{repo}/pulls/{pull_number}')).toBe(true);
});
