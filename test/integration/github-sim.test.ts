import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { createAppAuth } from '@octokit/auth-app';
import { Octokit } from '@octokit/rest';
import { verify } from '@octokit/webhooks-methods';
import { config as configPlugin } from '@probot/octokit-plugin-config';
import { execFile } from 'node:child_process';
import { generateKeyPairSync } from 'node:crypto';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:http';
import type { IncomingHttpHeaders } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { gitAuthEnv, startGitHubSim } from '../support/github-sim.ts';
import type { GitHubSim, SimRepo } from '../support/github-sim.ts';

const execFileAsync = promisify(execFile);

// Octokit logs every 4xx with console.error; these tests provoke many on purpose.
const log = { debug: () => {}, info: () => {}, warn: () => {}, error: () => {} };

const OWNER = 'acme';
const NAME = 'widgets';

/** git with no user/system config and prompts off; `extra` carries the auth header env. */
async function git(args: string[], cwd: string, extra: Record<string, string> = {}) {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) if (!k.startsWith('GIT_')) env[k] = v;
  Object.assign(env, {
    GIT_CONFIG_NOSYSTEM: '1',
    GIT_CONFIG_GLOBAL: '/dev/null',
    GIT_TERMINAL_PROMPT: '0',
    GIT_AUTHOR_NAME: 'Test',
    GIT_AUTHOR_EMAIL: 'test@example.invalid',
    GIT_COMMITTER_NAME: 'Test',
    GIT_COMMITTER_EMAIL: 'test@example.invalid',
    ...extra,
  });
  return execFileAsync('git', args, { cwd, env });
}

interface Received {
  url: string;
  headers: IncomingHttpHeaders;
  body: string;
}

/**
 * A stand-in for the app's webhook endpoint: answers with the queued statuses (then 200), the way
 * the app answers 503 while Redis is down; `/hang` never answers.
 */
async function startReceiver() {
  const received: Received[] = [];
  const statuses: number[] = [];
  let notify = (): void => {};
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      received.push({ url: req.url ?? '', headers: req.headers, body: Buffer.concat(chunks).toString('utf8') });
      notify();
      if (req.url === '/hang') return;
      const status = statuses.shift() ?? 200;
      res.writeHead(status, { 'Content-Type': 'text/plain' });
      res.end(status === 503 ? 'queue unavailable: Redis is unreachable\n' : 'ok');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    received,
    statuses,
    /** Resolves once `count` requests have arrived in total. */
    async waitFor(count: number): Promise<void> {
      while (received.length < count) await new Promise<void>((resolve) => (notify = resolve));
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

describe('github-sim', () => {
  let sim: GitHubSim;
  let repo: SimRepo;
  let tmp: string;
  let appOctokit: Octokit;
  let token: string;
  let octokit: Octokit;

  beforeAll(async () => {
    sim = await startGitHubSim();
    tmp = await mkdtemp(join(tmpdir(), 'github-sim-test-'));
    repo = await sim.createRepo({
      owner: OWNER,
      name: NAME,
      files: {
        'README.md': '# widgets\n',
        '.github/ai-fix.yml': 'model: test-model\n',
        'src/index.js': 'export const answer = 42;\n',
      },
    });
    appOctokit = new Octokit({
      log,
      baseUrl: sim.apiUrl,
      authStrategy: createAppAuth,
      auth: { appId: sim.appId, privateKey: sim.privateKey, installationId: sim.installationId },
    });
    const auth = createAppAuth({
      appId: sim.appId,
      privateKey: sim.privateKey,
      installationId: sim.installationId,
      request: new Octokit({ log, baseUrl: sim.apiUrl }).request,
    });
    token = (await auth({ type: 'installation' })).token;
    octokit = new Octokit({ log, baseUrl: sim.apiUrl, auth: token });
  });

  afterAll(async () => {
    await sim?.close();
    if (tmp) await rm(tmp, { recursive: true, force: true });
  });

  describe('auth', () => {
    it('mints installation tokens for a valid app JWT', () => {
      expect(token).toMatch(/^ghs_/);
      expect(sim.issuedTokens()).toContain(token);
      const minted = sim.requests.find((r) => r.path.endsWith(`/app/installations/${sim.installationId}/access_tokens`));
      expect(minted).toMatchObject({ method: 'POST', status: 201, auth: 'jwt' });
    });

    it('answers app endpoints with a JWT and rejects an installation token there', async () => {
      const { data: app } = await appOctokit.request('GET /app');
      expect(app).toMatchObject({ id: sim.appId, slug: 'ai-fix' });
      const { data: inst } = await appOctokit.request('GET /repos/{owner}/{repo}/installation', { owner: OWNER, repo: NAME });
      expect(inst.id).toBe(sim.installationId);
      await expect(octokit.request('GET /app')).rejects.toMatchObject({ status: 401 });
    });

    it('rejects a JWT signed with another key, and one for another app id', async () => {
      const { privateKey: forged } = generateKeyPairSync('rsa', {
        modulusLength: 2048,
        privateKeyEncoding: { type: 'pkcs8', format: 'pem' },
        publicKeyEncoding: { type: 'spki', format: 'pem' },
      });
      const request = new Octokit({ log, baseUrl: sim.apiUrl }).request;
      const forgedAuth = createAppAuth({ appId: sim.appId, privateKey: forged, installationId: sim.installationId, request });
      await expect(forgedAuth({ type: 'installation' })).rejects.toMatchObject({ status: 401 });
      const otherApp = createAppAuth({ appId: sim.appId + 1, privateKey: sim.privateKey, installationId: sim.installationId, request });
      await expect(otherApp({ type: 'installation' })).rejects.toMatchObject({ status: 401 });
    });

    it('rejects missing, unknown and revoked installation tokens', async () => {
      await expect(new Octokit({ log, baseUrl: sim.apiUrl }).rest.repos.get({ owner: OWNER, repo: NAME })).rejects.toMatchObject({
        status: 401,
      });
      const bogus = new Octokit({ log, baseUrl: sim.apiUrl, auth: 'ghs_notarealtoken' });
      await expect(bogus.rest.repos.get({ owner: OWNER, repo: NAME })).rejects.toMatchObject({ status: 401 });

      const doomed = (await appOctokit.auth({ type: 'installation', refresh: true })) as { token: string };
      const client = new Octokit({ log, baseUrl: sim.apiUrl, auth: doomed.token });
      await client.rest.repos.get({ owner: OWNER, repo: NAME });
      const revoke = await client.rest.apps.revokeInstallationAccessToken();
      expect(revoke.status).toBe(204);
      const err = await client.rest.repos.get({ owner: OWNER, repo: NAME }).catch((e: unknown) => e);
      expect(err).toMatchObject({ status: 401, response: { data: { message: 'Bad credentials' } } });
    });
  });

  describe('REST', () => {
    it('reads the repository', async () => {
      const { data } = await octokit.rest.repos.get({ owner: OWNER, repo: NAME });
      expect(data).toMatchObject({
        name: NAME,
        full_name: `${OWNER}/${NAME}`,
        default_branch: 'main',
        clone_url: `${sim.url}/${OWNER}/${NAME}.git`,
        private: false,
        owner: { login: OWNER, type: 'Organization' },
      });
      expect(repo.cloneUrl).toBe(data.clone_url);
    });

    it("feeds Probot's config loader (raw contents, 404 means no config)", async () => {
      const { config } = configPlugin(octokit);
      const found = await config.get({ owner: OWNER, repo: NAME, path: '.github/ai-fix.yml' });
      expect(found.config).toEqual({ model: 'test-model' });
      // Missing in the repo, the loader falls back to the owner's `.github` repo: both 404.
      const missing = await config.get({ owner: OWNER, repo: NAME, path: '.github/absent.yml' });
      expect(missing.config).toEqual({});
      expect(sim.requests.filter((r) => r.path.endsWith('/contents/.github/absent.yml')).map((r) => [r.path, r.status])).toEqual([
        [`/api/v3/repos/${OWNER}/${NAME}/contents/.github/absent.yml`, 404],
        [`/api/v3/repos/${OWNER}/.github/contents/.github/absent.yml`, 404],
      ]);
    });

    it('maps collaborator roles like GitHub', async () => {
      sim.setPermission(OWNER, NAME, 'maint', 'maintain');
      sim.setPermission(OWNER, NAME, 'tri', 'triage');
      sim.setPermission(OWNER, NAME, 'boss', 'admin');
      const get = async (username: string) =>
        (await octokit.rest.repos.getCollaboratorPermissionLevel({ owner: OWNER, repo: NAME, username })).data;
      expect(await get('maint')).toMatchObject({ permission: 'write', role_name: 'maintain', user: { login: 'maint' } });
      expect(await get('tri')).toMatchObject({ permission: 'read', role_name: 'triage' });
      expect(await get('boss')).toMatchObject({ permission: 'admin', role_name: 'admin' });
      expect(await get('stranger')).toMatchObject({ permission: 'read', role_name: 'read' });
    });

    it('serves file contents raw and as base64 JSON, 404 when missing', async () => {
      const raw = await octokit.request('GET /repos/{owner}/{repo}/contents/{path}', {
        owner: OWNER,
        repo: NAME,
        path: '.github/ai-fix.yml',
        mediaType: { format: 'raw' },
      });
      expect(raw.data).toBe('model: test-model\n');
      const { data } = await octokit.rest.repos.getContent({ owner: OWNER, repo: NAME, path: 'src/index.js', ref: 'main' });
      expect(data).toMatchObject({ type: 'file', encoding: 'base64', name: 'index.js', path: 'src/index.js' });
      const file = data as { content: string; sha: string };
      expect(Buffer.from(file.content, 'base64').toString()).toBe('export const answer = 42;\n');
      expect(file.sha).toMatch(/^[0-9a-f]{40}$/);
      await expect(
        octokit.rest.repos.getContent({ owner: OWNER, repo: NAME, path: '.github/nope.yml' }),
      ).rejects.toMatchObject({ status: 404, response: { data: { message: 'Not Found' } } });
    });

    it('creates, edits and reacts to comments as the bot; labels and reactions', async () => {
      const n = sim.createIssue(OWNER, NAME, { title: 'Bug', body: 'It breaks', user: 'alice', labels: ['ai-fix'] });
      const { data: issue } = await octokit.rest.issues.get({ owner: OWNER, repo: NAME, issue_number: n });
      expect(issue).toMatchObject({ number: n, title: 'Bug', state: 'open', user: { login: 'alice', type: 'User' } });
      expect(issue.labels).toEqual([expect.objectContaining({ name: 'ai-fix' })]);
      expect(issue).not.toHaveProperty('pull_request');

      const r1 = await octokit.rest.reactions.createForIssue({ owner: OWNER, repo: NAME, issue_number: n, content: 'eyes' });
      const r2 = await octokit.rest.reactions.createForIssue({ owner: OWNER, repo: NAME, issue_number: n, content: 'eyes' });
      expect([r1.status, r2.status]).toEqual([201, 200]);
      expect(sim.issueReactions(OWNER, NAME, n)).toEqual(['eyes']);

      const created = await octokit.rest.issues.createComment({ owner: OWNER, repo: NAME, issue_number: n, body: 'Working on it' });
      expect(created.status).toBe(201);
      expect(created.data.user).toMatchObject({ login: 'ai-fix[bot]', type: 'Bot' });
      const id = created.data.id;
      await octokit.rest.issues.updateComment({ owner: OWNER, repo: NAME, comment_id: id, body: 'Done' });
      const { data: fetched } = await octokit.rest.issues.getComment({ owner: OWNER, repo: NAME, comment_id: id });
      expect(fetched.body).toBe('Done');
      await octokit.rest.reactions.createForIssueComment({ owner: OWNER, repo: NAME, comment_id: id, content: 'rocket' });
      expect(sim.issueComments(OWNER, NAME, n)).toEqual([
        expect.objectContaining({ id, body: 'Done', user: { login: 'ai-fix[bot]', type: 'Bot' }, reactions: ['rocket'] }),
      ]);

      await octokit.rest.issues.addLabels({ owner: OWNER, repo: NAME, issue_number: n, labels: ['ai-fix: working'] });
      await octokit.rest.issues.removeLabel({ owner: OWNER, repo: NAME, issue_number: n, name: 'ai-fix' });
      expect(sim.issueLabels(OWNER, NAME, n)).toEqual(['ai-fix: working']);
      await expect(
        octokit.rest.issues.removeLabel({ owner: OWNER, repo: NAME, issue_number: n, name: 'ai-fix' }),
      ).rejects.toMatchObject({ status: 404 });
    });

    it('paginates comments with a Link header octokit follows', async () => {
      const n = sim.createIssue(OWNER, NAME, { title: 'Chatty', body: '' });
      for (let i = 1; i <= 35; i++) {
        await octokit.rest.issues.createComment({ owner: OWNER, repo: NAME, issue_number: n, body: `c${i}` });
      }
      const first = await octokit.rest.issues.listComments({ owner: OWNER, repo: NAME, issue_number: n, per_page: 10 });
      expect(first.data).toHaveLength(10);
      expect(first.headers.link).toContain('page=2>; rel="next"');
      expect(first.headers.link).toContain('page=4>; rel="last"');
      const all = await octokit.paginate(octokit.rest.issues.listComments, {
        owner: OWNER,
        repo: NAME,
        issue_number: n,
        per_page: 10,
      });
      expect(all.map((c) => c.body)).toEqual(Array.from({ length: 35 }, (_, i) => `c${i + 1}`));
    });

    it('answers 400 to malformed JSON and 404 (recorded) to unknown routes', async () => {
      const res = await fetch(`${sim.apiUrl}/repos/${OWNER}/${NAME}/issues/1/comments`, {
        method: 'POST',
        headers: { authorization: `token ${token}`, 'content-type': 'application/json' },
        body: '{not json',
      });
      expect(res.status).toBe(400);
      expect(await res.json()).toMatchObject({ message: 'Problems parsing JSON' });

      await expect(octokit.request('GET /repos/{owner}/{repo}/hooks', { owner: OWNER, repo: NAME })).rejects.toMatchObject({
        status: 404,
      });
      expect(sim.requests.at(-1)).toMatchObject({ method: 'GET', path: `/api/v3/repos/${OWNER}/${NAME}/hooks`, status: 404 });
    });

    it('injects faults on the next matching requests', async () => {
      const n = sim.createIssue(OWNER, NAME, { title: 'Flaky', body: '' });
      sim.failNext('GET', /\/issues\/\d+\/comments$/, 502);
      const args = { owner: OWNER, repo: NAME, issue_number: n };
      await expect(octokit.rest.issues.listComments(args)).rejects.toMatchObject({ status: 502 });
      await expect(octokit.rest.issues.listComments(args)).resolves.toMatchObject({ status: 200 });
    });
  });

  describe('git over HTTP', () => {
    it('clones, pushes a branch, and opens one PR for it', async () => {
      const work = join(tmp, 'clone');
      const auth = gitAuthEnv(token);
      await git(['clone', '-q', repo.cloneUrl, work], tmp, auth);
      expect(await readFile(join(work, 'README.md'), 'utf8')).toBe('# widgets\n');
      // The token travelled in env only, so nothing about it is stored in the clone.
      expect(await readFile(join(work, '.git', 'config'), 'utf8')).not.toContain(token);

      await git(['checkout', '-q', '-b', 'ai-fix/issue-1'], work);
      await writeFile(join(work, 'fix.txt'), 'fixed\n');
      await git(['add', '-A'], work);
      await git(['commit', '-q', '-m', 'Fix it'], work);
      await git(['push', '-q', 'origin', 'ai-fix/issue-1'], work, auth);
      const local = (await git(['rev-parse', 'HEAD'], work)).stdout.trim();
      expect(await sim.branchSha(OWNER, NAME, 'ai-fix/issue-1')).toBe(local);
      expect(sim.requests.some((r) => r.path.endsWith('/git-receive-pack') && r.status === 200 && r.auth === 'basic')).toBe(
        true,
      );

      const { data: branch } = await octokit.rest.repos.getBranch({ owner: OWNER, repo: NAME, branch: 'ai-fix/issue-1' });
      expect(branch.commit.sha).toBe(local);

      const spec = { owner: OWNER, repo: NAME, head: 'ai-fix/issue-1', base: 'main', title: 'Fix #1', body: 'Fixes #1', draft: true };
      const pr = await octokit.rest.pulls.create(spec);
      expect(pr.status).toBe(201);
      expect(pr.data).toMatchObject({
        state: 'open',
        draft: true,
        head: { ref: 'ai-fix/issue-1', sha: local, label: `${OWNER}:ai-fix/issue-1` },
        base: { ref: 'main' },
        user: { login: 'ai-fix[bot]' },
        html_url: `${repo.htmlUrl}/pull/${pr.data.number}`,
      });
      const dup = await octokit.rest.pulls.create(spec).catch((e: unknown) => e);
      expect(dup).toMatchObject({ status: 422, response: { data: { message: 'Validation Failed' } } });
      expect(JSON.stringify((dup as { response: { data: unknown } }).response.data)).toContain(
        `A pull request already exists for ${OWNER}:ai-fix/issue-1.`,
      );
      await expect(octokit.rest.pulls.create({ ...spec, head: 'no-such-branch' })).rejects.toMatchObject({ status: 422 });

      const { data: listed } = await octokit.rest.pulls.list({ owner: OWNER, repo: NAME, head: `${OWNER}:ai-fix/issue-1` });
      expect(listed.map((p) => p.number)).toEqual([pr.data.number]);
      const { data: none } = await octokit.rest.pulls.list({ owner: OWNER, repo: NAME, head: `${OWNER}:other` });
      expect(none).toEqual([]);

      await octokit.rest.pulls.update({ owner: OWNER, repo: NAME, pull_number: pr.data.number, title: 'Fix #1 (v2)' });
      expect(sim.pulls(OWNER, NAME)).toEqual([
        expect.objectContaining({ number: pr.data.number, title: 'Fix #1 (v2)', head: 'ai-fix/issue-1', base: 'main', draft: true }),
      ]);
      // PRs are issues too, sharing the numbering.
      const { data: asIssue } = await octokit.rest.issues.get({ owner: OWNER, repo: NAME, issue_number: pr.data.number });
      expect(asIssue.pull_request).toBeDefined();

      const check = join(tmp, 'check');
      await sim.cloneWithToken(OWNER, NAME, check, 'ai-fix/issue-1');
      expect(await readFile(join(check, 'fix.txt'), 'utf8')).toBe('fixed\n');
    });

    it('rejects git without a valid token', async () => {
      const before = sim.requests.length;
      const denied = await git(['clone', '-q', repo.cloneUrl, join(tmp, 'denied')], tmp).catch((e: unknown) => e);
      expect(denied).toMatchObject({ code: 128 });
      const bad = await git(['ls-remote', repo.cloneUrl], tmp, gitAuthEnv('ghs_bogus')).catch((e: unknown) => e);
      expect(bad).toMatchObject({ code: 128 });
      // The 401 challenge makes git fall back to asking for a username, which prompts-off refuses.
      expect(String((bad as { stderr: string }).stderr)).toMatch(/terminal prompts disabled|Authentication failed/);
      const gitRequests = sim.requests.slice(before);
      expect(gitRequests.map((r) => [r.status, r.auth])).toEqual([
        [401, 'none'],
        [401, 'basic'],
      ]);
    });

    it('refuses a push with a bad token', async () => {
      const work = join(tmp, 'push-bad');
      await sim.cloneWithToken(OWNER, NAME, work);
      await git(['checkout', '-q', '-b', 'sneaky'], work);
      await git(['commit', '-q', '--allow-empty', '-m', 'sneaky'], work);
      await expect(git(['push', '-q', 'origin', 'sneaky'], work, gitAuthEnv('ghs_bogus'))).rejects.toMatchObject({ code: 128 });
      expect(await sim.branchSha(OWNER, NAME, 'sneaky')).toBeNull();
    });
  });

  describe('pull request reviews', () => {
    const REVIEWED = 'reviewed';
    const BRANCH = 'ai-fix/issue-9';
    // 30 lines, so the two changes below land in two separate hunks.
    const calc = Array.from({ length: 30 }, (_, i) => `export const v${i + 1} = ${i + 1};\n`).join('');
    let reviewed: SimRepo;
    let pr: number;
    let headSha: string;
    let mainSha: string;
    const args = () => ({ owner: OWNER, repo: REVIEWED, pull_number: pr });

    beforeAll(async () => {
      reviewed = await sim.createRepo({
        owner: OWNER,
        name: REVIEWED,
        files: { 'README.md': '# reviewed\n', 'old.txt': 'old\n', 'src/calc.js': calc },
      });
      mainSha = (await sim.branchSha(OWNER, REVIEWED, 'main')) ?? '';
      const work = join(tmp, 'reviewed');
      await sim.cloneWithToken(OWNER, REVIEWED, work);
      await git(['checkout', '-q', '-b', BRANCH], work);
      const lines = calc.split('\n');
      lines[4] = 'export const v5 = 50;';
      lines.splice(24, 0, 'export const extra = 0;');
      await writeFile(join(work, 'src/calc.js'), lines.join('\n'));
      await mkdir(join(work, 'docs'));
      await writeFile(join(work, 'docs/notes.md'), '# Notes\nSee calc.\n');
      await rm(join(work, 'old.txt'));
      await git(['add', '-A'], work);
      await git(['commit', '-q', '-m', 'Fix calc'], work);
      await git(['push', '-q', 'origin', BRANCH], work, gitAuthEnv(token));
      headSha = (await sim.branchSha(OWNER, REVIEWED, BRANCH)) ?? '';
      const created = await octokit.rest.pulls.create({
        owner: OWNER,
        repo: REVIEWED,
        head: BRANCH,
        base: 'main',
        title: 'Fix #9',
        draft: true,
      });
      pr = created.data.number;
    });

    it('stores reviews with line comments anchored in the diff (diff_hunk, position, commit_id)', async () => {
      const { review, comments } = await sim.addReview(OWNER, REVIEWED, pr, {
        user: 'alice',
        state: 'CHANGES_REQUESTED',
        body: 'Please revisit',
        comments: [
          { path: 'src/calc.js', line: 5, body: 'Why 50?' },
          { path: 'src/calc.js', line: 25, body: 'Name this better' },
        ],
      });
      expect(review).toMatchObject({
        state: 'CHANGES_REQUESTED',
        body: 'Please revisit',
        user: { login: 'alice', type: 'User' },
        commit_id: headSha,
        html_url: `${reviewed.htmlUrl}/pull/${pr}#pullrequestreview-${review.id}`,
      });
      const [first, second] = comments;
      expect(second).toMatchObject({
        path: 'src/calc.js',
        line: 25,
        original_line: 25,
        side: 'RIGHT',
        // GitHub's position: lines below the file's first @@, counting later @@ lines too.
        position: 13,
        commit_id: headSha,
        original_commit_id: headSha,
        pull_request_review_id: review.id,
        user: { login: 'alice' },
        html_url: `${reviewed.htmlUrl}/pull/${pr}#discussion_r${second?.id}`,
      });
      expect(second).not.toHaveProperty('in_reply_to_id');
      // The hunk header (git adds the enclosing line as context) through the commented line.
      const hunk = second?.diff_hunk.split('\n') ?? [];
      expect(hunk[0]).toMatch(/^@@ -22,6 \+22,7 @@/);
      expect(hunk.slice(1)).toEqual([
        ' export const v22 = 22;',
        ' export const v23 = 23;',
        ' export const v24 = 24;',
        '+export const extra = 0;',
      ]);
      expect(first).toMatchObject({ line: 5, position: 5 });
      expect(first?.diff_hunk.split('\n').slice(-2)).toEqual(['-export const v5 = 5;', '+export const v5 = 50;']);

      const { data: reviews } = await octokit.rest.pulls.listReviews(args());
      expect(reviews.map((r) => [r.id, r.state, r.user?.login])).toEqual([[review.id, 'CHANGES_REQUESTED', 'alice']]);
      const { data: one } = await octokit.rest.pulls.getReview({ ...args(), review_id: review.id });
      expect(one).toEqual(review);
      const { data: ofReview } = await octokit.rest.pulls.listCommentsForReview({ ...args(), review_id: review.id });
      expect(ofReview.map((c) => c.id)).toEqual(comments.map((c) => c.id));

      const page = await octokit.rest.pulls.listReviewComments({ ...args(), per_page: 1 });
      expect(page.headers.link).toContain('rel="next"');
      const all = await octokit.paginate(octokit.rest.pulls.listReviewComments, { ...args(), per_page: 1 });
      expect(all).toEqual(comments);
      const { data: fetched } = await octokit.rest.pulls.getReviewComment({ owner: OWNER, repo: REVIEWED, comment_id: second?.id ?? 0 });
      expect(fetched).toEqual(second);
      const { data: pull } = await octokit.rest.pulls.get(args());
      expect(pull.review_comments).toBe(2);

      await expect(
        sim.addReview(OWNER, REVIEWED, pr, {
          user: 'alice',
          state: 'COMMENTED',
          body: '',
          comments: [{ path: 'src/calc.js', line: 15, body: 'Not in the diff' }],
        }),
      ).rejects.toThrow(/line 15 of src\/calc\.js is not part of the diff/);
      expect(sim.pullReviews(OWNER, REVIEWED, pr)).toHaveLength(1);
      await expect(
        octokit.rest.pulls.getReview({ ...args(), review_id: review.id, pull_number: pr + 100 }),
      ).rejects.toMatchObject({ status: 404 });
    });

    it('threads replies (authored by the bot) under the first comment, each in its own review', async () => {
      const root = sim.pullReviewComments(OWNER, REVIEWED, pr)[0];
      if (!root) throw new Error('no review comment');
      const reply = await octokit.rest.pulls.createReplyForReviewComment({ ...args(), comment_id: root.id, body: 'Fixed in the next push' });
      expect(reply.status).toBe(201);
      expect(reply.data).toMatchObject({
        in_reply_to_id: root.id,
        user: { login: 'ai-fix[bot]', type: 'Bot' },
        path: root.path,
        line: root.line,
        diff_hunk: root.diff_hunk,
        body: 'Fixed in the next push',
      });
      expect(reply.headers.location).toBe(reply.data.url);

      const human = await sim.addPullComment(OWNER, REVIEWED, pr, { user: 'alice', body: 'Thanks', inReplyTo: reply.data.id });
      expect(human.in_reply_to_id).toBe(root.id);
      expect(sim.reviewReplies(OWNER, REVIEWED, pr).map((c) => [c.user.login, c.body])).toEqual([
        ['ai-fix[bot]', 'Fixed in the next push'],
        ['alice', 'Thanks'],
      ]);
      const { data: reviews } = await octokit.rest.pulls.listReviews(args());
      expect(reviews.map((r) => [r.user?.login, r.state, r.body])).toEqual([
        ['alice', 'CHANGES_REQUESTED', 'Please revisit'],
        ['ai-fix[bot]', 'COMMENTED', ''],
        ['alice', 'COMMENTED', ''],
      ]);

      const single = await sim.addPullComment(OWNER, REVIEWED, pr, { user: 'bob', body: 'Typo?', path: 'docs/notes.md', line: 1 });
      expect(single).toMatchObject({ path: 'docs/notes.md', line: 1, diff_hunk: '@@ -0,0 +1,2 @@\n+# Notes' });
      expect(single).not.toHaveProperty('in_reply_to_id');

      await expect(
        octokit.rest.pulls.createReplyForReviewComment({ ...args(), comment_id: root.id, body: '' }),
      ).rejects.toMatchObject({ status: 422 });
      await expect(
        octokit.rest.pulls.createReplyForReviewComment({ ...args(), comment_id: 1, body: 'nope' }),
      ).rejects.toMatchObject({ status: 404 });
      const reaction = await octokit.rest.reactions.createForPullRequestReviewComment({
        owner: OWNER,
        repo: REVIEWED,
        comment_id: root.id,
        content: 'eyes',
      });
      expect(reaction.status).toBe(201);

      // Conversation comments on a PR live with the issue comments.
      const chat = sim.addIssueComment(OWNER, REVIEWED, pr, { user: 'alice', body: '/ai-fix address the review' });
      expect(chat.html_url).toBe(`${reviewed.htmlUrl}/pull/${pr}#issuecomment-${chat.id}`);
      const { data: fetched } = await octokit.rest.issues.getComment({ owner: OWNER, repo: REVIEWED, comment_id: chat.id });
      expect(fetched).toMatchObject({ id: chat.id, body: '/ai-fix address the review', user: { login: 'alice' } });
      expect(sim.issueComments(OWNER, REVIEWED, pr).map((c) => c.id)).toEqual([chat.id]);
    });

    it('requests reviewers (never the author) and drops a request once that reviewer reviews', async () => {
      const res = await octokit.rest.pulls.requestReviewers({ ...args(), reviewers: ['carol', 'dave'], team_reviewers: ['core'] });
      expect(res.status).toBe(201);
      expect(res.data.requested_reviewers?.map((u) => u.login)).toEqual(['carol', 'dave']);
      expect(res.data.requested_teams?.map((t) => t.slug)).toEqual(['core']);
      expect(sim.requestedReviewers(OWNER, REVIEWED, pr)).toEqual(['carol', 'dave']);

      const err = await octokit.rest.pulls.requestReviewers({ ...args(), reviewers: ['ai-fix[bot]'] }).catch((e: unknown) => e);
      expect(err).toMatchObject({ status: 422, response: { data: { message: 'Review cannot be requested from pull request author.' } } });

      const removed = await octokit.rest.pulls.removeRequestedReviewers({ ...args(), reviewers: ['dave'], team_reviewers: ['core'] });
      expect(removed.status).toBe(200);
      expect(sim.requestedReviewers(OWNER, REVIEWED, pr)).toEqual(['carol']);
      await sim.addReview(OWNER, REVIEWED, pr, { user: 'carol', state: 'APPROVED', body: 'LGTM' });
      const { data: left } = await octokit.rest.pulls.listRequestedReviewers(args());
      expect(left).toEqual({ users: [], teams: [] });
    });

    it('lists PR files, serves the diff media type, and compares with the base branch', async () => {
      const { data: files } = await octokit.rest.pulls.listFiles(args());
      expect(files.map((f) => [f.filename, f.status, f.additions, f.deletions, f.changes])).toEqual([
        ['docs/notes.md', 'added', 2, 0, 2],
        ['old.txt', 'removed', 0, 1, 1],
        ['src/calc.js', 'modified', 2, 1, 3],
      ]);
      const calcFile = files[2];
      expect(calcFile?.patch).toMatch(/^@@ -2,7 \+2,7 @@/);
      expect(calcFile?.patch).toContain('\n+export const v5 = 50;\n');
      expect(calcFile?.blob_url).toBe(`${reviewed.htmlUrl}/blob/${headSha}/src/calc.js`);

      const diff = await octokit.rest.pulls.get({ ...args(), mediaType: { format: 'diff' } });
      const text = diff.data as unknown as string;
      expect(typeof text).toBe('string');
      expect(text).toMatch(/^diff --git a\/docs\/notes\.md b\/docs\/notes\.md\n/);
      expect(text).toContain('diff --git a/src/calc.js b/src/calc.js\n');
      expect(text).toContain('\n-export const v5 = 5;\n+export const v5 = 50;\n');
      expect(diff.headers['content-type']).toMatch(/^application\/vnd\.github\.diff/);
      const plain = await fetch(`${sim.apiUrl}/repos/${OWNER}/${REVIEWED}/pulls/${pr}`, {
        headers: { authorization: `token ${token}`, accept: 'application/vnd.github.diff' },
      });
      expect(await plain.text()).toBe(text);

      const basehead = `main...${BRANCH}`;
      const { data: ahead } = await octokit.rest.repos.compareCommitsWithBasehead({ owner: OWNER, repo: REVIEWED, basehead });
      expect(ahead).toMatchObject({ status: 'ahead', ahead_by: 1, behind_by: 0, total_commits: 1, merge_base_commit: { sha: mainSha } });
      expect(ahead.commits.map((c) => [c.sha, c.commit.message])).toEqual([[headSha, 'Fix calc']]);
      expect(ahead.files?.map((f) => f.filename)).toEqual(['docs/notes.md', 'old.txt', 'src/calc.js']);

      // The base branch moves on: the PR is now behind it.
      const work = join(tmp, 'reviewed-main');
      await sim.cloneWithToken(OWNER, REVIEWED, work);
      await writeFile(join(work, 'README.md'), '# reviewed, moved on\n');
      await git(['commit', '-q', '-am', 'Elsewhere'], work);
      await git(['push', '-q', 'origin', 'main'], work, gitAuthEnv(token));
      const { data: behind } = await octokit.rest.repos.compareCommitsWithBasehead({ owner: OWNER, repo: REVIEWED, basehead });
      expect(behind).toMatchObject({ status: 'diverged', ahead_by: 1, behind_by: 1, merge_base_commit: { sha: mainSha } });
      // The PR's diff stays relative to the merge base.
      const { data: still } = await octokit.rest.pulls.listFiles(args());
      expect(still.map((f) => f.filename)).toEqual(['docs/notes.md', 'old.txt', 'src/calc.js']);
      await expect(
        octokit.rest.repos.compareCommitsWithBasehead({ owner: OWNER, repo: REVIEWED, basehead: 'main...nope' }),
      ).rejects.toMatchObject({ status: 404 });
    });

    it('flips draft through GraphQL markPullRequestReadyForReview / convertPullRequestToDraft', async () => {
      const { data: before } = await octokit.rest.pulls.get(args());
      expect(before.draft).toBe(true);
      const ready = await octokit.graphql<{
        markPullRequestReadyForReview: { clientMutationId: string; pullRequest: { id: string; isDraft: boolean; number: number } };
      }>(
        `mutation Ready($id: ID!) {
          markPullRequestReadyForReview(input: { pullRequestId: $id, clientMutationId: "t1" }) {
            clientMutationId
            pullRequest { id isDraft number }
          }
        }`,
        { id: before.node_id },
      );
      expect(ready).toEqual({
        markPullRequestReadyForReview: { clientMutationId: 't1', pullRequest: { id: before.node_id, isDraft: false, number: pr } },
      });
      expect((await octokit.rest.pulls.get(args())).data.draft).toBe(false);
      expect(sim.pulls(OWNER, REVIEWED).find((p) => p.number === pr)?.draft).toBe(false);
      // GHES layout: octokit turns baseUrl …/api/v3 into …/api/graphql.
      expect(sim.requests.filter((r) => r.path === '/api/graphql').at(-1)).toMatchObject({
        method: 'POST',
        status: 200,
        auth: 'installation',
      });

      const query = await octokit.graphql<{ repository: { pr: { isDraft: boolean; __typename: string } } }>(
        `query($owner: String!, $name: String!, $number: Int!) {
          repository(owner: $owner, name: $name) { pr: pullRequest(number: $number) { __typename isDraft } }
        }`,
        { owner: OWNER, name: REVIEWED, number: pr },
      );
      expect(query).toEqual({ repository: { pr: { __typename: 'PullRequest', isDraft: false } } });

      const draft = await octokit.graphql<{ convertPullRequestToDraft: { pullRequest: { isDraft: boolean } } }>(
        `mutation { convertPullRequestToDraft(input: {pullRequestId: "${before.node_id}"}) { pullRequest { isDraft } } }`,
      );
      expect(draft.convertPullRequestToDraft.pullRequest.isDraft).toBe(true);
      expect((await octokit.rest.pulls.get(args())).data.draft).toBe(true);

      const missing = await octokit
        .graphql(`mutation($id: ID!) { markPullRequestReadyForReview(input: {pullRequestId: $id}) { pullRequest { isDraft } } }`, {
          id: 'PR_nope',
        })
        .catch((e: unknown) => e);
      expect(missing).toMatchObject({
        name: 'GraphqlResponseError',
        errors: [expect.objectContaining({ type: 'NOT_FOUND', path: ['markPullRequestReadyForReview'] })],
        data: { markPullRequestReadyForReview: null },
      });
      const unknown = await octokit
        .graphql(`mutation { mergePullRequest(input: {pullRequestId: "x"}) { clientMutationId } }`)
        .catch((e: unknown) => e);
      expect(unknown).toMatchObject({
        errors: [expect.objectContaining({ message: "Field 'mergePullRequest' doesn't exist on type 'Mutation'" })],
      });
      expect(sim.pulls(OWNER, REVIEWED).find((p) => p.number === pr)?.draft).toBe(true);
      await expect(new Octokit({ log, baseUrl: sim.apiUrl }).graphql('{ __typename }')).rejects.toMatchObject({ status: 401 });
    });

    describe('CI', () => {
      it('lists check runs (latest per name) with annotations, and rolls them up into check suites', async () => {
        const lint = await sim.addCheckRun(OWNER, REVIEWED, {
          headSha,
          name: 'lint',
          status: 'completed',
          conclusion: 'failure',
          output: { title: '2 problems', summary: 'eslint found 2 problems' },
          annotations: [
            { path: 'src/calc.js', start_line: 5, end_line: 5, annotation_level: 'failure', message: 'No magic numbers', title: 'eslint' },
            { path: 'src/calc.js', start_line: 25, end_line: 25, annotation_level: 'warning', message: 'Unused export' },
          ],
        });
        expect(lint).toMatchObject({
          head_sha: headSha,
          status: 'completed',
          conclusion: 'failure',
          app: { slug: 'sim-ci' },
          check_suite: { id: expect.any(Number) },
          html_url: `${reviewed.htmlUrl}/runs/${lint.id}`,
          details_url: `${reviewed.htmlUrl}/runs/${lint.id}`,
          output: { title: '2 problems', summary: 'eslint found 2 problems', text: null, annotations_count: 2 },
          pull_requests: [expect.objectContaining({ number: pr, head: expect.objectContaining({ ref: BRANCH, sha: headSha }) })],
        });
        const ref = { owner: OWNER, repo: REVIEWED, ref: BRANCH };
        const { data: listed } = await octokit.rest.checks.listForRef(ref);
        expect(listed.total_count).toBe(1);
        expect(listed.check_runs[0]).toEqual(lint);
        const { data: got } = await octokit.rest.checks.get({ owner: OWNER, repo: REVIEWED, check_run_id: lint.id });
        expect(got).toEqual(lint);
        const { data: annotations } = await octokit.rest.checks.listAnnotations({ owner: OWNER, repo: REVIEWED, check_run_id: lint.id });
        expect(annotations).toEqual([
          expect.objectContaining({ path: 'src/calc.js', start_line: 5, end_line: 5, annotation_level: 'failure', title: 'eslint', message: 'No magic numbers' }),
          expect.objectContaining({ start_line: 25, annotation_level: 'warning', title: null, message: 'Unused export' }),
        ]);

        // A re-run with the same name supersedes the failed run under filter=latest (the default).
        const rerun = await sim.addCheckRun(OWNER, REVIEWED, { headSha, name: 'lint', status: 'in_progress' });
        expect(rerun.check_suite.id).toBe(lint.check_suite.id);
        const latest = await octokit.rest.checks.listForRef({ ...ref, ref: headSha });
        expect(latest.data.check_runs.map((r) => [r.id, r.status])).toEqual([[rerun.id, 'in_progress']]);
        const everything = await octokit.rest.checks.listForRef({ ...ref, filter: 'all' });
        expect(everything.data.total_count).toBe(2);
        const done = await octokit.rest.checks.listForRef({ ...ref, status: 'completed' });
        expect(done.data.total_count).toBe(0);

        const suites = async () => (await octokit.rest.checks.listSuitesForRef(ref)).data;
        expect((await suites()).check_suites.map((s) => [s.id, s.status, s.conclusion])).toEqual([[lint.check_suite.id, 'in_progress', null]]);
        await sim.completeCheckRun(OWNER, REVIEWED, rerun.id, { conclusion: 'success', output: { title: 'Clean', summary: 'No problems' } });
        const after = await suites();
        expect(after.total_count).toBe(1);
        expect(after.check_suites[0]).toMatchObject({
          status: 'completed',
          conclusion: 'success',
          head_sha: headSha,
          head_branch: BRANCH,
          app: { slug: 'sim-ci' },
          latest_check_runs_count: 1,
          head_commit: { id: headSha, message: 'Fix calc' },
        });
        await expect(octokit.rest.checks.listForRef({ ...ref, ref: 'no-such-branch' })).rejects.toMatchObject({ status: 422 });
      });

      it('follows a workflow run to its jobs and downloads a job log through the redirect', async () => {
        const log = '2024-01-01T00:00:00.0000000Z ##[group]Run npm test\n2024-01-01T00:00:01.0000000Z FAIL test/calc.test.js\n';
        const job = await sim.addCheckRun(OWNER, REVIEWED, {
          headSha,
          name: 'test (22)',
          status: 'in_progress',
          workflowRun: { name: 'CI', jobLog: log },
        });
        expect(job.app).toMatchObject({ slug: 'github-actions', name: 'GitHub Actions' });
        expect(job.html_url).toMatch(new RegExp(`^${reviewed.htmlUrl}/actions/runs/\\d+/job/${job.id}$`));

        const runs = async () =>
          (await octokit.rest.actions.listWorkflowRunsForRepo({ owner: OWNER, repo: REVIEWED, head_sha: headSha })).data;
        const before = await runs();
        expect(before.total_count).toBe(1);
        const run = before.workflow_runs[0];
        if (!run) throw new Error('no workflow run');
        const runApi = `${sim.apiUrl}/repos/${OWNER}/${REVIEWED}/actions/runs/${run.id}`;
        expect(run).toMatchObject({
          name: 'CI',
          head_sha: headSha,
          head_branch: BRANCH,
          status: 'in_progress',
          conclusion: null,
          check_suite_id: job.check_suite.id,
          html_url: `${reviewed.htmlUrl}/actions/runs/${run.id}`,
          jobs_url: `${runApi}/jobs`,
          logs_url: `${runApi}/logs`,
          run_attempt: 1,
          pull_requests: [expect.objectContaining({ number: pr })],
        });

        await sim.completeCheckRun(OWNER, REVIEWED, job.id, { conclusion: 'failure' });
        expect((await runs()).workflow_runs[0]).toMatchObject({ id: run.id, status: 'completed', conclusion: 'failure' });
        const failed = await octokit.rest.actions.listWorkflowRunsForRepo({ owner: OWNER, repo: REVIEWED, status: 'failure' });
        expect(failed.data.workflow_runs.map((r) => r.id)).toEqual([run.id]);

        const { data: jobs } = await octokit.rest.actions.listJobsForWorkflowRun({ owner: OWNER, repo: REVIEWED, run_id: run.id });
        expect(jobs.total_count).toBe(1);
        expect(jobs.jobs[0]).toMatchObject({
          id: job.id,
          run_id: run.id,
          name: 'test (22)',
          status: 'completed',
          conclusion: 'failure',
          head_sha: headSha,
          workflow_name: 'CI',
        });
        expect(jobs.jobs[0]?.steps?.map((s) => [s.number, s.name, s.status, s.conclusion])).toEqual([
          [1, 'Set up job', 'completed', 'success'],
          [2, 'Run test (22)', 'completed', 'failure'],
          [3, 'Complete job', 'completed', 'success'],
        ]);

        const logs = await octokit.rest.actions.downloadJobLogsForWorkflowRun({ owner: OWNER, repo: REVIEWED, job_id: job.id });
        expect(logs.status as number).toBe(200);
        expect(logs.data).toBe(log);
        const logPath = `/api/v3/repos/${OWNER}/${REVIEWED}/actions/jobs/${job.id}/logs`;
        expect(sim.requests.filter((r) => r.path === logPath).map((r) => r.status)).toEqual([302]);

        // The redirect target is a "pre-signed" URL: no credentials needed, but the signature is.
        const manual = await fetch(`${sim.apiUrl}${logPath.slice('/api/v3'.length)}`, {
          headers: { authorization: `token ${token}` },
          redirect: 'manual',
        });
        expect(manual.status).toBe(302);
        const location = manual.headers.get('location') ?? '';
        expect(location.startsWith(`${sim.url}/`)).toBe(true);
        const anonymous = await fetch(location);
        expect([anonymous.status, await anonymous.text()]).toEqual([200, log]);
        const tampered = await fetch(location.replace(/sig=[^&]+/, 'sig=forged'));
        expect(tampered.status).toBe(403);

        // The job is a check run too, in the workflow run's check suite.
        const { data: checks } = await octokit.rest.checks.listForRef({ owner: OWNER, repo: REVIEWED, ref: headSha, check_name: 'test (22)' });
        expect(checks.check_runs.map((r) => [r.id, r.app?.slug, r.check_suite?.id])).toEqual([[job.id, 'github-actions', run.check_suite_id]]);
      });

      it('combines commit statuses, latest per context', async () => {
        const ref = { owner: OWNER, repo: REVIEWED, ref: headSha };
        const combined = async () => (await octokit.rest.repos.getCombinedStatusForRef(ref)).data;
        expect(await combined()).toMatchObject({ state: 'pending', total_count: 0, statuses: [], sha: headSha });

        const jenkins = sim.setCommitStatus(OWNER, REVIEWED, headSha, {
          state: 'pending',
          context: 'ci/jenkins',
          description: 'Building',
          target_url: 'https://ci.example.invalid/1',
        });
        expect(jenkins).toMatchObject({ state: 'pending', context: 'ci/jenkins', description: 'Building', creator: { login: 'sim-ci' } });
        sim.setCommitStatus(OWNER, REVIEWED, headSha, { state: 'success', context: 'ci/coverage' });
        expect(await combined()).toMatchObject({ state: 'pending', total_count: 2 });

        sim.setCommitStatus(OWNER, REVIEWED, headSha, { state: 'failure', context: 'ci/jenkins', description: '3 tests failed' });
        const failed = await combined();
        expect(failed.state).toBe('failure');
        expect(failed.statuses.map((s) => [s.context, s.state, s.description])).toEqual([
          ['ci/coverage', 'success', null],
          ['ci/jenkins', 'failure', '3 tests failed'],
        ]);

        sim.setCommitStatus(OWNER, REVIEWED, headSha, { state: 'success', context: 'ci/jenkins' });
        expect((await combined()).state).toBe('success');
        const { data: history } = await octokit.rest.repos.listCommitStatusesForRef({ ...ref, ref: BRANCH });
        expect(history.map((s) => [s.context, s.state])).toEqual([
          ['ci/jenkins', 'success'],
          ['ci/jenkins', 'failure'],
          ['ci/coverage', 'success'],
          ['ci/jenkins', 'pending'],
        ]);
      });
    });
  });

  describe('app webhook deliveries', () => {
    const secret = 'webhook-secret';
    let receiver: Awaited<ReturnType<typeof startReceiver>>;
    let jwtOctokit: Octokit;
    const payload = () => ({
      action: 'labeled',
      label: { name: 'ai-fix' },
      repository: { id: repo.id, full_name: `${OWNER}/${NAME}` },
      installation: { id: sim.installationId },
    });

    beforeAll(async () => {
      receiver = await startReceiver();
      sim.configureWebhook({ url: `${receiver.url}/api/github/webhooks`, secret });
      jwtOctokit = new Octokit({
        log,
        authStrategy: createAppAuth,
        auth: { appId: sim.appId, privateKey: sim.privateKey },
        baseUrl: sim.apiUrl,
      });
    });

    afterAll(async () => {
      await receiver?.close();
    });

    it('records a refused delivery and redelivers it with the same guid on request', async () => {
      receiver.statuses.push(503, 200);
      const before = receiver.received.length;
      const result = await sim.deliver('issues', payload());
      expect(result).toMatchObject({ status: 503, body: 'queue unavailable: Redis is unreachable\n' });
      expect(result.guid).toMatch(UUID);

      const first = receiver.received[before];
      expect(first?.url).toBe('/api/github/webhooks');
      expect(first?.headers).toMatchObject({
        'x-github-event': 'issues',
        'x-github-delivery': result.guid,
        'x-github-hook-id': expect.stringMatching(/^\d+$/),
        'x-github-hook-installation-target-type': 'integration',
        'x-github-hook-installation-target-id': String(sim.appId),
        'user-agent': 'GitHub-Hookshot/sim',
        'content-type': 'application/json',
      });
      expect(JSON.parse(first?.body ?? '')).toEqual(payload());
      expect(await verify(secret, first?.body ?? '', String(first?.headers['x-hub-signature-256']))).toBe(true);

      const refused = {
        id: result.id,
        guid: result.guid,
        redelivery: false,
        status: 'Invalid HTTP Response: 503',
        status_code: 503,
        event: 'issues',
        action: 'labeled',
        installation_id: sim.installationId,
        repository_id: repo.id,
        throttled_at: null,
      };
      expect(sim.deliveries().at(-1)).toMatchObject(refused);

      const { data: listed } = await jwtOctokit.request('GET /app/hook/deliveries');
      // The list has no url/request/response, exactly the item fields.
      expect(listed[0]).toEqual({
        ...refused,
        delivered_at: expect.stringMatching(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/),
        duration: expect.any(Number),
      });

      const { data: detail } = await jwtOctokit.request('GET /app/hook/deliveries/{delivery_id}', { delivery_id: result.id });
      expect(detail).toMatchObject({
        ...refused,
        url: `${receiver.url}/api/github/webhooks`,
        request: { headers: { 'X-GitHub-Delivery': result.guid, 'X-GitHub-Event': 'issues' }, payload: payload() },
        response: { headers: { 'Content-Type': 'text/plain' }, payload: 'queue unavailable: Redis is unreachable\n' },
      });

      const attempt = await jwtOctokit.request('POST /app/hook/deliveries/{delivery_id}/attempts', { delivery_id: result.id });
      expect(attempt.status).toBe(202);
      expect(attempt.data).toEqual({});
      await receiver.waitFor(before + 2);
      await sim.deliveriesSettled();

      const second = receiver.received[before + 1];
      expect(second?.headers['x-github-delivery']).toBe(result.guid);
      expect(second?.body).toBe(first?.body);
      expect(await verify(secret, second?.body ?? '', String(second?.headers['x-hub-signature-256']))).toBe(true);
      const redelivered = sim.deliveries().at(-1);
      expect(redelivered).toMatchObject({ guid: result.guid, redelivery: true, status: 'OK', status_code: 200, response: { payload: 'ok' } });
      expect(redelivered?.id).toBeGreaterThan(result.id);

      const { data: after } = await jwtOctokit.request('GET /app/hook/deliveries');
      expect(after.slice(0, 2).map((d) => [d.id, d.guid, d.redelivery, d.status_code])).toEqual([
        [redelivered?.id, result.guid, true, 200],
        [result.id, result.guid, false, 503],
      ]);
    });

    it('answers 404 for unknown deliveries and 401 without an app JWT', async () => {
      await expect(jwtOctokit.request('GET /app/hook/deliveries/{delivery_id}', { delivery_id: 1 })).rejects.toMatchObject({
        status: 404,
      });
      await expect(
        jwtOctokit.request('POST /app/hook/deliveries/{delivery_id}/attempts', { delivery_id: 1 }),
      ).rejects.toMatchObject({ status: 404 });
      await expect(octokit.request('GET /app/hook/deliveries')).rejects.toMatchObject({ status: 401 });
    });

    it('lists newest first, paginated by cursor with a Link header', async () => {
      receiver.statuses.push(503);
      for (let i = 0; i < 5; i++) await sim.deliver('ping', { zen: `zen ${i}` });
      const newestFirst = sim.deliveries().reverse();
      expect(newestFirst.length).toBeGreaterThanOrEqual(7);
      expect(newestFirst[0]).toMatchObject({ event: 'ping', action: null, installation_id: null, repository_id: null });

      const page1 = await jwtOctokit.request('GET /app/hook/deliveries', { per_page: 2 });
      expect(page1.data.map((d) => d.id)).toEqual(newestFirst.slice(0, 2).map((d) => d.id));
      const link = String(page1.headers.link);
      expect(link).toMatch(/^<http:\/\/127\.0\.0\.1:\d+\/api\/v3\/app\/hook\/deliveries\?per_page=2&cursor=v1_\d+>; rel="next"$/);
      const cursor = /[?&]cursor=([^&>]+)/.exec(link)?.[1];
      const page2 = await jwtOctokit.request('GET /app/hook/deliveries', { per_page: 2, cursor });
      expect(page2.data.map((d) => d.id)).toEqual(newestFirst.slice(2, 4).map((d) => d.id));

      const all = await jwtOctokit.paginate('GET /app/hook/deliveries', { per_page: 2 });
      expect(all.map((d) => d.id)).toEqual(newestFirst.map((d) => d.id));
      const lastPage = await jwtOctokit.request('GET /app/hook/deliveries', { per_page: 100 });
      expect(lastPage.headers.link).toBeUndefined();

      const failures = await jwtOctokit.request('GET /app/hook/deliveries', { status: 'failure' });
      expect(failures.data.map((d) => d.id)).toEqual(newestFirst.filter((d) => d.status_code === 503).map((d) => d.id));
    });

    it('records timeouts and unreachable receivers as status 0, and honours a given guid', async () => {
      const hookId = receiver.received.at(-1)?.headers['x-github-hook-id'];
      const closed = createServer();
      await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
      const deadUrl = `http://127.0.0.1:${(closed.address() as AddressInfo).port}/`;
      await new Promise<void>((resolve) => closed.close(() => resolve()));
      try {
        sim.configureWebhook({ url: `${receiver.url}/hang`, secret, timeoutMs: 200 });
        const slow = await sim.deliver('ping', { zen: 'slow' }, { guid: 'fixed-guid' });
        expect(slow).toMatchObject({ guid: 'fixed-guid', status: 0, body: '' });
        expect(receiver.received.at(-1)?.headers).toMatchObject({ 'x-github-delivery': 'fixed-guid', 'x-github-hook-id': hookId });
        expect(sim.deliveries().at(-1)).toMatchObject({ status: 'timed out', status_code: 0, response: { headers: {}, payload: null } });

        sim.configureWebhook({ url: deadUrl, secret });
        const unreachable = await sim.deliver('ping', { zen: 'nobody home' });
        expect(unreachable.status).toBe(0);
        expect(sim.deliveries().at(-1)).toMatchObject({ status: 'failed to connect to host', status_code: 0 });
      } finally {
        sim.configureWebhook({ url: `${receiver.url}/api/github/webhooks`, secret });
      }
    });
  });
});
