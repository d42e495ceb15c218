import { setTimeout as sleep } from 'node:timers/promises';

// Retries of one model request happen here, inside the step, instead of in the SDK: the SDK does
// not retry a response cut mid-body, ignores a retry-after above 60 s and knows nothing of the
// task's time limit.

export interface RetryPolicy {
  /** Tries in all, the first included. */
  attempts: number;
  /** First backoff; it doubles with each retry, with jitter. */
  baseDelayMs: number;
  maxDelayMs: number;
  /** A server asking for a longer wait than this parks the task rather than holding a worker slot. */
  parkAfterMs: number;
}

export const DEFAULT_RETRY_POLICY: RetryPolicy = { attempts: 6, baseDelayMs: 1_000, maxDelayMs: 30_000, parkAfterMs: 60_000 };

/** How one failed try is to be treated. */
export type TryFailure =
  | { kind: 'fatal' }
  /** Worth another try; `waitMs` is the server's own retry-after, when it gave one. */
  | { kind: 'transient'; waitMs?: number };

/** The task's time ran out while a request was in flight or waiting for its retry. */
export class ModelDeadlineError extends Error {
  override name = 'ModelDeadlineError';
}

/** The provider asked to wait longer than a worker slot should be held; the task can come back then. */
export class ModelBackoffError extends Error {
  override name = 'ModelBackoffError';
  readonly retryAfterMs: number;
  constructor(message: string, retryAfterMs: number) {
    super(message);
    this.retryAfterMs = retryAfterMs;
  }
}

export interface RetryContext {
  signal?: AbortSignal;
  /** Epoch ms after which no try starts and no wait ends. */
  deadline?: number;
  onRetry?: (info: { attempt: number; waitMs: number; error: unknown }) => void;
}

/** Milliseconds from `retry-after-ms` or `retry-after` (seconds or an HTTP date). */
export function retryAfterMs(headers: Headers | undefined, now = Date.now()): number | undefined {
  const ms = Number.parseFloat(headers?.get('retry-after-ms') ?? '');
  if (Number.isFinite(ms) && ms >= 0) return ms;
  const value = headers?.get('retry-after');
  if (!value) return undefined;
  const seconds = Number.parseFloat(value);
  if (Number.isFinite(seconds) && seconds >= 0) return seconds * 1000;
  const at = Date.parse(value);
  return Number.isNaN(at) ? undefined : Math.max(0, at - now);
}

function backoff(policy: RetryPolicy, retry: number): number {
  const exponential = Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** retry);
  return exponential * (0.75 + Math.random() * 0.25);
}

/**
 * Runs `attempt` (given the milliseconds it may take) until it succeeds, a failure is fatal, the
 * tries are used up, or the deadline comes. The last failure is thrown as it was.
 */
export async function withModelRetries<T>(
  policy: RetryPolicy,
  context: RetryContext,
  classify: (error: unknown) => TryFailure,
  attempt: (timeoutMs: number | undefined) => Promise<T>,
): Promise<T> {
  const { deadline, signal } = context;
  for (let tries = 1; ; tries++) {
    const left = deadline === undefined ? undefined : deadline - Date.now();
    if (left !== undefined && left <= 0) throw new ModelDeadlineError('the task ran out of time waiting for the model');
    try {
      return await attempt(left);
    } catch (error) {
      if (signal?.aborted) throw error;
      if (deadline !== undefined && Date.now() >= deadline) throw new ModelDeadlineError('the task ran out of time waiting for the model');
      const failure = classify(error);
      if (failure.kind === 'fatal' || tries >= policy.attempts) throw error;
      if (failure.waitMs !== undefined && failure.waitMs > policy.parkAfterMs) {
        throw new ModelBackoffError(`the model provider asked to wait ${Math.ceil(failure.waitMs / 1000)} s before the next request`, failure.waitMs);
      }
      const waitMs = failure.waitMs ?? backoff(policy, tries - 1);
      if (deadline !== undefined && Date.now() + waitMs >= deadline) throw new ModelDeadlineError('the task ran out of time waiting for the model');
      context.onRetry?.({ attempt: tries, waitMs, error });
      await sleep(waitMs, undefined, { signal });
    }
  }
}
