import type { Redis } from 'ioredis';
import {
  recentTasksKey,
  taskSummaryKey,
  timelineKey,
  transcriptKey,
  usageIndexKey,
  usageRecordsKey,
  type TaskSummary,
  type TimelineEntry,
  type TranscriptEntry,
  type UsageRecord,
} from './task-record.ts';

// Reading what the worker recorded (the dashboard, `ai-fix status`, `ai-fix usage`).

function parseAll<T>(items: Array<string | null>): T[] {
  return items.flatMap((item) => (item ? [JSON.parse(item) as T] : []));
}

export interface TaskRecord {
  summary: TaskSummary;
  timeline: TimelineEntry[];
  transcript: TranscriptEntry[];
}

export async function readTaskRecord(redis: Redis, prefix: string, jobId: string): Promise<TaskRecord | undefined> {
  const [summary, timeline, transcript] = await Promise.all([
    redis.get(taskSummaryKey(prefix, jobId)),
    redis.lrange(timelineKey(prefix, jobId), 0, -1),
    redis.lrange(transcriptKey(prefix, jobId), 0, -1),
  ]);
  if (!summary) return undefined;
  return {
    summary: JSON.parse(summary) as TaskSummary,
    timeline: parseAll<TimelineEntry>(timeline),
    transcript: parseAll<TranscriptEntry>(transcript),
  };
}

export async function readTaskSummaries(redis: Redis, prefix: string, jobIds: string[]): Promise<TaskSummary[]> {
  if (jobIds.length === 0) return [];
  return parseAll<TaskSummary>(await redis.mget(jobIds.map((id) => taskSummaryKey(prefix, id))));
}

/** The most recently started tasks, newest first. */
export async function readRecentTasks(redis: Redis, prefix: string, limit: number): Promise<TaskSummary[]> {
  const ids = await redis.zrevrange(recentTasksKey(prefix), 0, limit - 1);
  return readTaskSummaries(redis, prefix, ids);
}

/** Usage records of tasks that finished at or after `since` (epoch ms). */
export async function readUsageRecords(redis: Redis, prefix: string, since: number): Promise<UsageRecord[]> {
  const ids = await redis.zrangebyscore(usageIndexKey(prefix), since, '+inf');
  if (ids.length === 0) return [];
  return parseAll<UsageRecord>(await redis.hmget(usageRecordsKey(prefix), ...ids));
}
