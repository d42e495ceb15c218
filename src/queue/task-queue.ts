import { Queue, type ConnectionOptions, type Job } from 'bullmq';
import { taskJobId, workKey } from './job-ids.ts';
import type { TaskRequest } from './task-request.ts';

export const TASK_QUEUE_NAME = 'tasks';

/** What the worker returns for a job: failure to produce a green PR is a result, not an error. */
export interface TaskResult {
  outcome: 'pr-opened' | 'pr-updated' | 'failed' | 'cancelled' | 'no-changes' | 'skipped' | 'ci-green';
  pullRequestUrl?: string;
  reason?: string;
}

export type TaskQueue = Queue<TaskRequest, TaskResult, string>;
export type TaskJob = Job<TaskRequest, TaskResult, string>;

export function createTaskQueue(connection: ConnectionOptions, prefix: string): TaskQueue {
  return new Queue<TaskRequest, TaskResult, string>(TASK_QUEUE_NAME, {
    connection,
    prefix,
    defaultJobOptions: {
      // Thrown errors are transient (network, GitHub 5xx, a killed worker); retry with backoff.
      attempts: 3,
      backoff: { type: 'exponential', delay: 30_000 },
      removeOnComplete: { age: 7 * 24 * 3600, count: 5000 },
      removeOnFail: { age: 30 * 24 * 3600, count: 5000 },
    },
  });
}

export interface EnqueueResult {
  jobId: string;
  /** false when an equivalent task was already queued or running (nothing new was added). */
  added: boolean;
}

export async function enqueueTask(
  queue: TaskQueue,
  request: TaskRequest,
  options: { delayMs?: number } = {},
): Promise<EnqueueResult> {
  const number = request.pullNumber ?? request.issueNumber;
  const jobId = taskJobId(request.kind, request.repo.id, number, request.trigger.deliveryId);
  const existing = await queue.getJob(jobId);
  if (existing) return { jobId, added: false };
  const id = workKey(request.kind, request.repo.id, number);
  const job = await queue.add(request.kind, request, {
    jobId,
    delay: options.delayMs,
    // One queued-or-running task per issue (or PR) and kind. A second solve meanwhile is
    // dropped; feedback arriving while a revision waits joins it (the worker reads all feedback
    // when it starts), and feedback arriving while one runs queues exactly one more.
    deduplication: request.kind === 'solve' ? { id } : { id, keepLastIfActive: true },
  });
  return { jobId: job.id ?? jobId, added: job.id === jobId };
}
