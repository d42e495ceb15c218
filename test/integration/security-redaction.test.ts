import crypto from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { Octokit } from '@octokit/core';
import { createInstallationOctokit } from '../../src/github/installation-client.ts';
import { redactWrites, redactWritesPlugin } from '../../src/github/redact-requests.ts';
import { createLogger } from '../../src/util/logger.ts';
import { REDACTED } from '../../src/util/redact.ts';
import { startGitHubSim, type GitHubSim } from '../support/github-sim.ts';

// Every write to GitHub passes one hook that redacts it, whatever code path produced the text.
describe('writes to GitHub are redacted at the client', () => {
  let github: GitHubSim;
  const secret = `whsec-${crypto.randomBytes(12).toString('hex')}`;
  const lookalike = `ghs_${'R4nd0m'.repeat(6)}`;
  const text = `env dump: WEBHOOK_SECRET=${secret} TOKEN=${lookalike}`;

  beforeAll(async () => {
    github = await startGitHubSim();
    await github.createRepo({ owner: 'acme', name: 'redacted', files: { 'a.txt': 'a\n' } });
    github.createIssue('acme', 'redacted', { title: 't', body: 'b' });
  });

  afterAll(async () => {
    await github?.close();
  });

  it('the worker client redacts comment bodies and pull request titles and bodies', async () => {
    const octokit = createInstallationOctokit(
      { appId: github.appId, privateKey: github.privateKey, baseUrl: github.apiUrl },
      github.installationId,
      createLogger({ level: 'silent' }),
      new Set([secret]),
    );
    await octokit.request('POST /repos/{owner}/{repo}/issues/{issue_number}/comments', { owner: 'acme', repo: 'redacted', issue_number: 1, body: text });
    const [comment] = github.issueComments('acme', 'redacted', 1);
    expect(comment?.body).toBe(`env dump: WEBHOOK_SECRET=${REDACTED} TOKEN=${REDACTED}`);
    // The request still authenticated: the credentials in the headers are not content.
    expect(github.requests.filter((r) => r.method === 'POST' && r.path.endsWith('/comments')).map((r) => r.status)).toEqual([201]);
  });

  it('the plugin does the same for Octokit classes built elsewhere (Probot)', async () => {
    const Redacting = Octokit.plugin(redactWritesPlugin([secret]));
    const octokit = new Redacting({ auth: github.mintToken(), baseUrl: github.apiUrl });
    await octokit.request('POST /repos/{owner}/{repo}/issues/{issue_number}/comments', { owner: 'acme', repo: 'redacted', issue_number: 1, body: text });
    expect(github.issueComments('acme', 'redacted', 1)[1]?.body).not.toMatch(new RegExp(`${secret}|${lookalike}`));
  });

  it('leaves reads, headers and binary payloads alone', () => {
    const hook = redactWrites([secret]);
    const read = { method: 'GET', url: '/search', q: secret };
    hook(read);
    expect(read.q).toBe(secret);
    const data = Buffer.from(secret);
    const write = { method: 'POST', url: '/x', headers: { authorization: `token ${lookalike}` }, data, title: secret };
    hook(write);
    expect(write).toEqual({ method: 'POST', url: '/x', headers: { authorization: `token ${lookalike}` }, data, title: REDACTED });
  });
});
