import { describe, expect, it } from '@jest/globals';
import { UnrecoverableError } from 'bullmq';
import { ModelError } from '../../src/agent/model-client.ts';
import { ModelBackoffError } from '../../src/agent/model-retry.ts';
import { ConfigError } from '../../src/util/errors.ts';
import { classifyFailure } from '../../src/worker/classify-failure.ts';
import { PushRefusedError } from '../../src/workspace/commit-and-push.ts';
import { GitError } from '../../src/workspace/git.ts';

// One answer for every error a task can end with: would another run help?

/** Shaped as Octokit's RequestError is: a status, the request, the response with its headers. */
function githubError(status: number, headers: Record<string, string> = {}): Error {
  return Object.assign(new Error(`HTTP ${status}`), { name: 'HttpError', status, request: { method: 'POST', url: 'https://ghe.example/api/v3/repos/a/b/pulls' }, response: { status, headers, url: '', data: {} } });
}

describe('classifyFailure', () => {
  it.each([
    ['a refused permission (403)', githubError(403)],
    ['a missing repository (404)', githubError(404)],
    ['a validation failure (422)', githubError(422)],
    ['bad credentials (401)', githubError(401)],
    ['a model that rejects the key (401)', new ModelError('model API answered 401', 401)],
    ['a model that does not exist (404)', new ModelError('model API answered 404', 404)],
    ['a push refused because someone else pushed', new PushRefusedError('the branch changed')],
    ['git refused authentication', new GitError('git push failed', 'remote: Permission to acme/app.git denied to ai-fix[bot].\nfatal: unable to access: The requested URL returned error: 403', 128)],
    ['a bad setting', new ConfigError('OPENAI_API_KEY is not set')],
    ['malformed job data', new UnrecoverableError('malformed task data')],
  ])('%s is permanent: the task ends now', (_what, err) => {
    expect(classifyFailure(err)).toEqual({ kind: 'permanent' });
  });

  it.each([
    ['a GitHub 502', githubError(502)],
    ['a short secondary rate limit (403 with retry-after 30)', githubError(403, { 'retry-after': '30' })],
    ['a model 500', new ModelError('model API answered 500', 500)],
    ['a model response cut off', new ModelError("the model's response was cut off before it was complete (6 tries)")],
    ['git losing its connection', new GitError('git fetch failed', 'error: RPC failed; curl 56 Recv failure: Connection reset by peer\nfatal: early EOF', 128)],
    ['a full disk', new GitError('git checkout failed', 'fatal: write error: No space left on device', 128)],
    ['anything else (a broken socket)', Object.assign(new TypeError('terminated'), { cause: { code: 'UND_ERR_SOCKET' } })],
  ])('%s is transient: the job retries from its checkpoint', (_what, err) => {
    expect(classifyFailure(err)).toEqual({ kind: 'transient' });
  });

  it('a rate limit that resets in ten minutes parks the task until then', () => {
    const reset = String(Math.floor(Date.now() / 1000) + 600);
    const parked = classifyFailure(githubError(403, { 'x-ratelimit-remaining': '0', 'x-ratelimit-reset': reset }));
    expect(parked.kind).toBe('park');
    expect((parked as { retryAfterMs: number }).retryAfterMs).toBeGreaterThan(500_000);
  });

  it('a model provider asking for two minutes parks the task for two minutes', () => {
    expect(classifyFailure(new ModelBackoffError('wait', 120_000))).toEqual({ kind: 'park', retryAfterMs: 120_000 });
  });
});
