import { Queue, Worker } from 'bullmq';
import { createRedis, redisOptions } from '../queue/redis-connection.ts';
import { TASK_QUEUE_NAME, type TaskQueue, type TaskResult } from '../queue/task-queue.ts';
import type { TaskRequest } from '../queue/task-request.ts';
import { listenForCancels } from './cancel-listener.ts';
import { measureTask } from './measure-task.ts';
import { RepoSlots } from './repo-slots.ts';
import { runTask } from './run-task.ts';
import { SHUTDOWN_REASON } from './shutdown.ts';
import type { TaskDependencies } from './task-dependencies.ts';
import { taskLogFields } from './task-log-fields.ts';
import { leaseWorkdir, removeOrphanWorkdirs } from './workdir.ts';
import { reportStalledFailures } from './stall-reporter.ts';
import { announceWorker } from '../observability/worker-records.ts';

export interface RunningWorker {
  /** Stops taking jobs, lets running ones finish within the grace period, then hands them back. */
  close(): Promise<void>;
}

export async function startWorker(deps: TaskDependencies): Promise<RunningWorker> {
  // Held first, so no worker sharing the work dir takes this one's for an orphan.
  const workdirLease = await leaseWorkdir(deps.workdir);
  await removeOrphanWorkdirs(deps.env.workdir, deps.log);
  // For waking a task that waits for a repository slot.
  const queue: TaskQueue = new Queue(TASK_QUEUE_NAME, { connection: redisOptions(deps.env.redisUrl), prefix: deps.env.queuePrefix });
  queue.on('error', (err) => deps.log.warn({ err: err.message }, 'queue connection error'));
  const repoSlots = new RepoSlots({
    redis: deps.redis,
    queue,
    prefix: deps.env.queuePrefix,
    defaultLimit: deps.env.repoConcurrency,
    // A killed worker's slot lapses when its task's lock does, so the task and its slot move together.
    leaseMs: deps.env.jobLockMs,
    log: deps.log,
  });
  const taskDeps = { ...deps, repoSlots };
  const worker = new Worker<TaskRequest, TaskResult, string>(
    TASK_QUEUE_NAME,
    (job, token, signal) =>
      measureTask(deps.metrics, job.data.kind ?? 'unknown', () => runTask(job, token, signal ?? new AbortController().signal, taskDeps)),
    {
      connection: redisOptions(deps.env.redisUrl),
      prefix: deps.env.queuePrefix,
      concurrency: deps.env.concurrency,
      // The lock is renewed every half period while the event loop stays free; when a worker
      // dies, its job counts as stalled once the lock lapses and another worker takes it.
      lockDuration: deps.env.jobLockMs,
      stalledInterval: Math.max(1000, Math.floor(deps.env.jobLockMs / 2)),
      // Generous: only a job that keeps taking its workers down should fail this way.
      maxStalledCount: 10,
    },
  );
  worker.on('failed', (job, err) => deps.log.warn({ ...(job ? taskLogFields(job.id ?? 'unknown', job.data) : {}), err }, 'job failed'));
  worker.on('completed', (job, result) => deps.log.info({ ...taskLogFields(job.id ?? 'unknown', job.data), outcome: result.outcome }, 'job completed'));
  worker.on('error', (err) => deps.log.error({ err }, 'worker error'));
  const subscriber = createRedis(deps.env.redisUrl);
  subscriber.on('error', (err) => deps.log.warn({ err: err.message }, 'cancel listener connection error'));
  await listenForCancels({
    subscriber,
    prefix: deps.env.queuePrefix,
    cancel: (jobId, reason) => worker.cancelJob(jobId, reason),
    log: deps.log,
  });
  const stallReporter = await reportStalledFailures(deps);
  const record = await announceWorker(deps.redis, deps.env.queuePrefix, {
    concurrency: deps.env.concurrency,
    sandbox: deps.sandbox.mode,
    toolchains: deps.sandbox.toolchains,
    networkAllow: deps.sandbox.networkAllow,
  });
  deps.log.info({ concurrency: deps.env.concurrency }, 'worker started');

  return {
    async close() {
      let timer: NodeJS.Timeout | undefined;
      const grace = new Promise<'timeout'>((resolve) => {
        timer = setTimeout(() => resolve('timeout'), deps.env.shutdownGraceMs);
      });
      const closing = worker.close();
      const result = await Promise.race([closing, grace]);
      clearTimeout(timer);
      if (result === 'timeout') {
        deps.log.warn('shutdown grace period over; handing running tasks back to the queue');
        worker.cancelAllJobs(SHUTDOWN_REASON);
        await closing;
      }
      subscriber.disconnect();
      await record.close();
      await stallReporter.close();
      await queue.close();
      await workdirLease.release();
    },
  };
}
