import type { Job } from 'bullmq';
import { emptyUsage } from '../agent/conversation.ts';
import { taskIdentity } from '../observability/task-record.ts';
import type { TaskRecord } from '../observability/task-records.ts';
import { taskRequestSchema } from '../queue/task-request.ts';

/** A task no worker has started yet has no record; its page shows it from the queued job. */
export function queuedTaskRecord(job: Job): TaskRecord | undefined {
  const parsed = taskRequestSchema.safeParse(job.data);
  if (!parsed.success || !job.id) return undefined;
  const request = parsed.data;
  return {
    summary: {
      ...taskIdentity(job, request),
      startedAt: job.timestamp,
      updatedAt: job.timestamp,
      stage: 'queued',
      usage: emptyUsage(),
      dollars: null,
      transcriptEntries: 0,
    },
    timeline: [{ stage: 'queued', at: job.timestamp, attempt: 1 }],
    transcript: [],
  };
}
