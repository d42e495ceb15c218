import { DEFAULT_LEASE_TIMING, tryTakeLease, type LeaseTiming } from '../util/lease.ts';

/**
 * Runs `work` holding the lease file `lock`, across tasks and worker processes sharing the
 * directory; a holder that died (a crash or a kill -9) loses it once its lease goes stale. With
 * `wait: false` it returns undefined instead of waiting for a busy lock.
 */
export async function withDirLock<T>(
  lock: string,
  signal: AbortSignal | undefined,
  work: () => Promise<T>,
  options: { wait?: boolean; timing?: LeaseTiming } = {},
): Promise<T | undefined> {
  const timing = options.timing ?? DEFAULT_LEASE_TIMING;
  let lease;
  while (!(lease = await tryTakeLease(lock, timing))) {
    if (options.wait === false) return undefined;
    signal?.throwIfAborted();
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  try {
    return await work();
  } finally {
    await lease.release();
  }
}
