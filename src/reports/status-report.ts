import type { Queue } from 'bullmq';
import type { Redis } from 'ioredis';
import { formatDuration } from '../util/markdown.ts';
import { readTaskSummaries } from '../observability/task-records.ts';
import { queueCounts, type QueueCounts } from '../queue/queue-counts.ts';
import { readWorkers, type WorkerRecord } from '../observability/worker-records.ts';
import { textTable } from './text-table.ts';

export interface ActiveTask {
  jobId: string;
  task: string;
  kind: string;
  stage: string;
  step?: number;
  maxSteps?: number;
  elapsedMs: number;
}

export interface QueueStatus {
  counts: QueueCounts;
  /** Labelled issues not decided yet (delayed: retrying a failed GitHub read) or given up on. */
  intake: QueueCounts;
  active: ActiveTask[];
  workers: WorkerRecord[];
}

const MAX_ACTIVE = 100;

/** The queue's counts and its running tasks, with each task's stage and step from its record. */
export async function readQueueStatus(queue: Queue, intake: Queue, redis: Redis, prefix: string, now: number): Promise<QueueStatus> {
  const [counts, intakeCounts, jobs] = await Promise.all([queueCounts(queue), queueCounts(intake), queue.getActive(0, MAX_ACTIVE - 1)]);
  const summaries = new Map((await readTaskSummaries(redis, prefix, jobs.flatMap((job) => (job.id ? [job.id] : [])))).map((s) => [s.jobId, s]));
  const active = jobs.map((job): ActiveTask => {
    const data = job.data as { repo?: { owner?: string; name?: string }; issueNumber?: number; kind?: string };
    const summary = job.id ? summaries.get(job.id) : undefined;
    return {
      jobId: job.id ?? '?',
      task: `${data.repo?.owner}/${data.repo?.name}#${data.issueNumber}`,
      kind: data.kind ?? '?',
      stage: summary?.stage ?? 'starting',
      step: summary?.step,
      maxSteps: summary?.maxSteps,
      elapsedMs: now - (job.processedOn ?? job.timestamp),
    };
  });
  return { counts, intake: intakeCounts, active, workers: await readWorkers(redis, prefix) };
}

export function formatQueueStatus(status: QueueStatus, prefix: string): string {
  const { counts, intake } = status;
  const lines = [
    `Queue "tasks" (prefix ${prefix})`,
    `  waiting ${counts.waiting}   active ${counts.active}   delayed ${counts.delayed}   failed ${counts.failed}`,
    'Labels being decided (queue "intake"; delayed: retrying a GitHub read, failed: gave up)',
    `  waiting ${intake.waiting}   active ${intake.active}   delayed ${intake.delayed}   failed ${intake.failed}`,
    '',
  ];
  if (status.active.length === 0) {
    lines.push('No active tasks.');
  } else {
    lines.push('Active tasks');
    lines.push(
      textTable(
        ['TASK', 'KIND', 'STAGE', 'STEP', 'ELAPSED', 'JOB'],
        status.active.map((t) => [
          t.task,
          t.kind,
          t.stage,
          t.step === undefined ? '' : `${t.step}${t.maxSteps ? ` of ${t.maxSteps}` : ''}`,
          formatDuration(t.elapsedMs),
          t.jobId,
        ]),
        new Set([4]),
      ),
    );
  }
  lines.push('');
  if (status.workers.length === 0) {
    lines.push('No workers running.');
  } else {
    lines.push('Workers (sandbox, network during setup, toolchains the sandbox has)');
    lines.push(
      textTable(
        ['WORKER', 'TASKS', 'SANDBOX', 'SETUP NETWORK', 'TOOLCHAINS'],
        status.workers.map((w) => [
          w.worker,
          String(w.concurrency),
          w.sandbox,
          w.networkAllow.join(', ') || 'none',
          Object.entries(w.toolchains).map(([name, version]) => `${name} ${version.replace(/^[^\d]*/, '').split(/\s/)[0]}`).join(', ') || 'none found',
        ]),
      ),
    );
  }
  return `${lines.join('\n')}\n`;
}
