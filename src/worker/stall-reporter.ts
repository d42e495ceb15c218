import { Queue, QueueEvents } from 'bullmq';
import { createInstallationOctokit } from '../github/installation-client.ts';
import { ensureProgressComment } from '../github/progress-comment.ts';
import { renderProgress } from '../github/progress-render.ts';
import { redisOptions } from '../queue/redis-connection.ts';
import { TASK_QUEUE_NAME, type TaskQueue } from '../queue/task-queue.ts';
import { parseTaskRequest } from '../queue/task-request.ts';
import { closeTaskRecord } from '../observability/task-recorder.ts';
import { progressKey } from '../state/progress-key.ts';
import type { TaskDependencies } from './task-dependencies.ts';

/**
 * A job that kept killing its workers is failed by BullMQ's stalled-job check, where no task
 * code runs. Workers listen for that and close the task's progress comment, so it does not stay
 * at "working" for ever. (Every worker may do it; the edit is the same.)
 */
export async function reportStalledFailures(deps: TaskDependencies): Promise<{ close(): Promise<void> }> {
  const connection = redisOptions(deps.env.redisUrl);
  const events = new QueueEvents(TASK_QUEUE_NAME, { connection, prefix: deps.env.queuePrefix });
  const queue: TaskQueue = new Queue(TASK_QUEUE_NAME, { connection, prefix: deps.env.queuePrefix });
  events.on('error', (err) => deps.log.warn({ err: err.message }, 'queue events connection error'));
  events.on('failed', ({ jobId, failedReason }) => {
    if (!/stalled/i.test(failedReason)) return;
    void (async () => {
      const job = await queue.getJob(jobId);
      if (!job) return;
      const request = parseTaskRequest(job.data);
      const octokit = createInstallationOctokit(deps.app, request.installationId, deps.log, deps.secrets);
      const reason = 'the workers running it stopped too many times in a row (a crash or out of memory?); add the label again to retry';
      await closeTaskRecord(deps.redis, deps.env.queuePrefix, jobId, reason);
      await ensureProgressComment(
        octokit,
        { redis: deps.redis, key: progressKey(deps.env.queuePrefix, jobId) },
        { owner: request.repo.owner, repo: request.repo.name, issueNumber: request.issueNumber },
        renderProgress({ stage: 'failed', reason }),
      );
    })().catch((err: unknown) => deps.log.warn({ err, jobId }, 'could not report a stalled task'));
  });
  await events.waitUntilReady();
  return {
    async close() {
      await events.close();
      await queue.close();
    },
  };
}
