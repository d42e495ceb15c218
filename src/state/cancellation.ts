import type { Redis } from 'ioredis';
import type { TaskQueue } from '../queue/task-queue.ts';

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

function stopMarkKey(prefix: string, workKey: string): string {
  return `${prefix}:stopped:${workKey}`;
}

/**
 * When work was last stopped (label removed, issue closed), so a label event still being
 * decided then (the intake may be retrying a GitHub read) does not start the task afterwards.
 */
export async function markStopped(redis: Redis, prefix: string, workKey: string, at: number): Promise<void> {
  await redis.set(stopMarkKey(prefix, workKey), String(at), 'EX', FLAG_TTL_SECONDS);
}

export async function stoppedAfter(redis: Redis, prefix: string, workKey: string, since: number): Promise<boolean> {
  return Number((await redis.get(stopMarkKey(prefix, workKey))) ?? 0) >= since;
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
