import { describe, expect, it } from '@jest/globals';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { Octokit } from '@octokit/rest';
import { failureReason } from '../../src/worker/failure-reason.ts';

describe('a failure in words for the progress comment', () => {
  it('says a connection broke instead of a bare "terminated"', () => {
    const cut = new TypeError('terminated', { cause: Object.assign(new Error('other side closed'), { code: 'UND_ERR_SOCKET' }) });
    expect(failureReason(cut)).toBe('a network connection broke while ai-fix was working (terminated, UND_ERR_SOCKET); it is worth trying again: add the label again, or comment again on the pull request');
    expect(failureReason(Object.assign(new Error('read ECONNRESET'), { code: 'ECONNRESET' }))).toContain('a network connection broke');
  });

  it('names the GitHub request that failed', async () => {
    const server = http.createServer((_req, res) => res.writeHead(422, { 'content-type': 'application/json' }).end(JSON.stringify({ message: 'Validation Failed' })));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    try {
      const quiet = () => {};
      const octokit = new Octokit({ baseUrl: `http://127.0.0.1:${(server.address() as AddressInfo).port}/api/v3`, log: { debug: quiet, info: quiet, warn: quiet, error: quiet } });
      const err = await octokit.request('POST /repos/{owner}/{repo}/pulls', { owner: 'acme', repo: 'calc', head: 'ai-fix/issue-1', base: 'main' }).catch((e: unknown) => e);
      expect(failureReason(err)).toMatch(/^GitHub answered HTTP 422 to `POST \/api\/v3\/repos\/acme\/calc\/pulls` \(Validation Failed.*\)$/);
    } finally {
      server.close();
    }
  });

  it('keeps a message that is already a sentence', () => {
    expect(failureReason(new Error('model API timed out: check OPENAI_BASE_URL, or try again later'))).toBe('model API timed out: check OPENAI_BASE_URL, or try again later');
  });
});
