import { UnrecoverableError } from 'bullmq';
import { ModelError } from '../agent/model-client.ts';
import { ModelBackoffError, retryAfterMs } from '../agent/model-retry.ts';
import { ConfigError, UserFacingError } from '../util/errors.ts';
import { GitError, isTransientGitError } from '../workspace/git.ts';
import { PushRefusedError } from '../workspace/commit-and-push.ts';

// One answer, for every error a task can end with, to one question: would trying again help?
// Permanent: the task ends now with a comment. Transient: the job is retried and resumes from its
// checkpoint. Park: the same, but not before the service said it would answer again.

export type FailureClass = { kind: 'permanent' } | { kind: 'transient' } | { kind: 'park'; retryAfterMs: number };

/** A wait the task gives back its worker slot for, instead of sleeping in it. */
const PARK_AFTER_MS = 60_000;

interface HttpLikeError {
  status?: number;
  response?: { headers?: Record<string, string | undefined> };
}

/** Octokit's RequestError, by shape (it may come from another copy of the package). */
function githubFailure(err: HttpLikeError): FailureClass | undefined {
  const { status } = err;
  if (typeof status !== 'number' || !err.response) return undefined;
  const headers = err.response.headers ?? {};
  const wait = retryAfterMs(new Headers(Object.entries(headers).filter((entry): entry is [string, string] => typeof entry[1] === 'string')));
  const reset = Number(headers['x-ratelimit-reset']);
  const rateLimited = status === 429 || (status === 403 && (headers['x-ratelimit-remaining'] === '0' || wait !== undefined));
  if (rateLimited) {
    const until = wait ?? (Number.isFinite(reset) ? reset * 1000 - Date.now() : undefined);
    return until !== undefined && until > PARK_AFTER_MS ? { kind: 'park', retryAfterMs: until } : { kind: 'transient' };
  }
  if (status >= 500 || status === 408 || status === 409) return { kind: 'transient' };
  return status >= 400 ? { kind: 'permanent' } : undefined;
}

// Local conditions a later try may not meet again: a full disk, a lock another process held.
const LOCAL_TRANSIENT = /No space left on device|index\.lock|Unable to create .*\.lock|Resource temporarily unavailable/i;

export function classifyFailure(err: unknown): FailureClass {
  if (err instanceof UnrecoverableError || err instanceof ConfigError || err instanceof UserFacingError || err instanceof PushRefusedError) return { kind: 'permanent' };
  if (err instanceof ModelBackoffError) return { kind: 'park', retryAfterMs: err.retryAfterMs };
  if (err instanceof ModelError) return err.permanent ? { kind: 'permanent' } : { kind: 'transient' };
  if (err instanceof GitError) {
    // Authentication, permissions, a missing repository or ref: a retry asks the same question.
    return isTransientGitError(err) || LOCAL_TRANSIENT.test(`${err.stderr}\n${err.message}`) ? { kind: 'transient' } : { kind: 'permanent' };
  }
  if (typeof err === 'object' && err !== null) {
    const github = githubFailure(err);
    if (github) return github;
  }
  // Anything else (a dropped connection, a crash in a tool): worth one more run from the checkpoint.
  return { kind: 'transient' };
}
