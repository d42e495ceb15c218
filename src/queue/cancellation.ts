import type { Redis } from 'ioredis';
import type { TaskQueue } from './task-queue.ts';

// Cancelling crosses processes: the app decides, whichever worker runs the job must stop. A
// queued job is simply removed; a running one is flagged (a key the worker checks when it starts
// the job, for the race with pick-up) and announced on a channel every worker listens to.
const FLAG_TTL_SECONDS = 24 * 3600;

export function cancelChannel(prefix: string): string {
  return `${prefix}:cancel`;
}

export function cancelFlagKey(prefix: string, jobId: string): string {
  return `${prefix}:cancelled:${jobId}`;
}

export interface CancelOutcome {
  /** Jobs removed before they started, with the issue or PR their progress belongs on. */
  removed: Array<{ jobId: string; number: number }>;
  /** Running jobs told to stop. */
  signalled: string[];
}

export async function cancelTasks(
  queue: TaskQueue,
  redis: Redis,
  prefix: string,
  workKeys: string[],
  reason: string,
): Promise<CancelOutcome> {
  const outcome: CancelOutcome = { removed: [], signalled: [] };
  for (const key of workKeys) {
    const jobId = await queue.getDeduplicationJobId(key);
    if (!jobId) continue;
    const job = await queue.getJob(jobId);
    if (!job) continue;
    const state = await job.getState();
    if (state === 'waiting' || state === 'delayed' || state === 'prioritized' || state === 'waiting-children') {
      await job.remove();
      await queue.removeDeduplicationKey(key);
      outcome.removed.push({ jobId, number: job.data.pullNumber ?? job.data.issueNumber });
    } else if (state === 'active') {
      await redis.set(cancelFlagKey(prefix, jobId), reason, 'EX', FLAG_TTL_SECONDS);
      await redis.publish(cancelChannel(prefix), JSON.stringify({ jobId, reason }));
      outcome.signalled.push(jobId);
    }
  }
  return outcome;
}
