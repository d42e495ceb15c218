import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import type { Redis } from 'ioredis';
import { Probot, ProbotOctokit } from 'probot';
import { createInstallationOctokit, paceByInstallation, type InstallationOctokit } from '../../src/github/installation-client.ts';
import { ensureProgressComment } from '../../src/github/progress-comment.ts';
import { ensurePullRequest } from '../../src/github/pull-request.ts';
import { redactWritesPlugin } from '../../src/github/redact-requests.ts';
import { answerReviewers } from '../../src/github/review-replies.ts';
import { createLogger } from '../../src/util/logger.ts';
import { REDACTED } from '../../src/util/redact.ts';
import { gitAuthEnv, startGitHubSim, type GitHubSim } from '../support/github-sim.ts';
import { connectTestRedis, deletePrefix, uniquePrefix } from '../support/redis.ts';

const execFileAsync = promisify(execFile);

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

// Text the model or strangers wrote is cleaned of terminal escapes, bidi controls and invisible
// characters by the clients' write hook, whichever code path wrote it.
describe('text written to GitHub arrives without control or invisible characters', () => {
  let github: GitHubSim;
  let redis: Redis;
  let worker: InstallationOctokit;
  let tmp: string;
  const prefix = uniquePrefix('github-text');
  const OWNER = 'acme';
  const REPO = 'display';
  const BRANCH = 'ai-fix/issue-1';
  const ESC = '\x1b';
  const dirty = (words: string) =>
    `${ESC}[31m${words}${ESC}[0m \u202Eevil\u202C ze\u200Bro\u2060 ${ESC}]8;;https://evil.example${ESC}\\link${ESC}]8;;${ESC}\\ ✓ 日本\r\nnext\tline\x07`;
  const clean = (words: string) => `${words} evil zero link ✓ 日本\nnext\tline`;
  const secret = 'whsec-display-text-secret';

  beforeAll(async () => {
    redis = await connectTestRedis();
    github = await startGitHubSim();
    await github.createRepo({ owner: OWNER, name: REPO, files: { 'a.txt': 'a\n' } });
    github.createIssue(OWNER, REPO, { title: 'Crash', body: 'b' });
    tmp = await mkdtemp(join(tmpdir(), 'github-text-'));
    const work = join(tmp, 'work');
    await github.cloneWithToken(OWNER, REPO, work);
    await git(['checkout', '-q', '-b', BRANCH], work);
    await writeFile(join(work, 'a.txt'), 'a\nb\n');
    await git(['commit', '-q', '-am', 'Fix'], work);
    await git(['push', '-q', 'origin', BRANCH], work, gitAuthEnv(github.mintToken()));
    worker = createInstallationOctokit(
      { appId: github.appId, privateKey: github.privateKey, baseUrl: github.apiUrl },
      github.installationId,
      createLogger({ level: 'silent' }),
      new Set([secret]),
    );
  });

  afterAll(async () => {
    await github?.close();
    if (tmp) await rm(tmp, { recursive: true, force: true });
    if (redis) await deletePrefix(redis, prefix);
    redis?.disconnect();
  });

  it('pull request titles and bodies, when created and when updated', async () => {
    const spec = { owner: OWNER, repo: REPO, head: BRANCH, base: 'main', draft: true };
    const created = await ensurePullRequest(worker, { ...spec, title: dirty('Fix #1:'), body: dirty('Summary') });
    expect(created.created).toBe(true);
    let [pull] = github.pulls(OWNER, REPO);
    expect(pull?.title).toBe(clean('Fix #1:'));
    expect(pull?.body).toBe(clean('Summary'));

    // A secret split by zero-width characters is whole again, and redacted.
    const split = `${secret.slice(0, 6)}\u200B${secret.slice(6)}`;
    await ensurePullRequest(worker, { ...spec, title: dirty('Fix #1 again:'), body: `token ${split}` });
    [pull] = github.pulls(OWNER, REPO);
    expect(github.pulls(OWNER, REPO)).toHaveLength(1);
    expect(pull?.title).toBe(clean('Fix #1 again:'));
    expect(pull?.body).toBe(`token ${REDACTED}`);
  }, 30_000);

  it('progress comments, when posted and when edited', async () => {
    const store = { redis, key: `${prefix}:progress:job-1` };
    const target = { owner: OWNER, repo: REPO, issueNumber: 1 };
    const id = await ensureProgressComment(worker, store, target, dirty('Working'));
    expect(github.issueComments(OWNER, REPO, 1).find((c) => c.id === id)?.body).toBe(clean('Working'));
    await ensureProgressComment(worker, store, target, dirty('Done'));
    expect(github.issueComments(OWNER, REPO, 1).find((c) => c.id === id)?.body).toBe(clean('Done'));
  }, 30_000);

  it('replies in review threads', async () => {
    const pullNumber = github.pulls(OWNER, REPO)[0]!.number;
    const { comments } = await github.addReview(OWNER, REPO, pullNumber, {
      user: 'alice',
      state: 'COMMENTED',
      body: '',
      comments: [{ path: 'a.txt', line: 2, body: 'Why b?' }],
    });
    const thread = comments[0]!;
    await answerReviewers(worker, {
      owner: OWNER,
      repo: REPO,
      pullNumber,
      feedback: [{ kind: 'inline', author: 'alice', body: thread.body, createdAt: thread.created_at, threadId: thread.id }],
      sha: null,
      summary: dirty('Nothing to change:'),
      reviewers: [],
    });
    const [reply] = github.reviewReplies(OWNER, REPO, pullNumber);
    expect(reply?.body).toBe(`No change was pushed for this: ${clean('Nothing to change:')}`);
  }, 30_000);

  it("the server's clients (Probot's) clean the comments its handlers post", async () => {
    // Built as src/cli.ts builds it.
    const probot = new Probot({
      appId: github.appId,
      privateKey: github.privateKey,
      secret: 'unused',
      baseUrl: github.apiUrl,
      logLevel: 'fatal',
      Octokit: ProbotOctokit.plugin(redactWritesPlugin([secret])).defaults(paceByInstallation),
    });
    const octokit = await probot.auth(github.installationId);
    const { data } = await octokit.rest.issues.createComment({ owner: OWNER, repo: REPO, issue_number: 1, body: dirty('Config error:') });
    expect(github.issueComments(OWNER, REPO, 1).find((c) => c.id === data.id)?.body).toBe(clean('Config error:'));
  }, 30_000);
});
