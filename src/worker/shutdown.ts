import { DelayedError } from 'bullmq';
import type { TaskJob } from '../queue/task-queue.ts';

/** The abort reason a worker gives its running tasks when its shutdown grace period is over. */
export const SHUTDOWN_REASON = 'ai-fix worker shutting down';

export function abortedForShutdown(signal: AbortSignal): boolean {
  return signal.aborted && signal.reason === SHUTDOWN_REASON;
}

/**
 * Puts an interrupted job back in the queue for another worker, without spending one of its
 * attempts (BullMQ's pattern: move to delayed, then throw DelayedError).
 */
export async function handBack(job: TaskJob, token: string | undefined): Promise<never> {
  await job.moveToDelayed(Date.now() + 1000, token);
  throw new DelayedError();
}
