import type { TokenUsage } from '../agent/conversation.ts';

// What the worker records about each task in Redis for the dashboard, `ai-fix status` and
// `ai-fix usage`. Per-task keys expire; usage records are kept longer, in a sorted set by time.
export const TASK_RECORD_TTL_SECONDS = 14 * 24 * 3600;
export const USAGE_RETENTION_MS = 90 * 24 * 3600 * 1000;
/** Transcript entries kept per task (the latest ones). */
export const TRANSCRIPT_MAX_ENTRIES = 400;

/** Who and what a task is: the fields known from its job before it starts. */
export type TaskIdentity = Pick<TaskSummary, 'jobId' | 'repo' | 'issueNumber' | 'pullNumber' | 'kind' | 'deliveryId' | 'triggeredBy' | 'attempt' | 'queuedAt'>;

export function taskIdentity(
  job: { id?: string; attemptsMade: number; timestamp: number },
  request: { repo: { owner: string; name: string }; issueNumber: number; pullNumber?: number; kind: string; trigger: { deliveryId: string; login: string } },
): TaskIdentity {
  return {
    jobId: job.id ?? 'unknown',
    repo: `${request.repo.owner}/${request.repo.name}`,
    issueNumber: request.issueNumber,
    pullNumber: request.pullNumber,
    kind: request.kind,
    deliveryId: request.trigger.deliveryId,
    triggeredBy: request.trigger.login,
    attempt: job.attemptsMade + 1,
    queuedAt: job.timestamp,
  };
}

export interface TaskSummary {
  jobId: string;
  /** owner/name */
  repo: string;
  issueNumber: number;
  pullNumber?: number;
  kind: string;
  deliveryId: string;
  triggeredBy: string;
  attempt: number;
  queuedAt: number;
  startedAt: number;
  updatedAt: number;
  finishedAt?: number;
  stage: string;
  step?: number;
  maxSteps?: number;
  model?: string;
  usage: TokenUsage;
  /** null while no turn had a price (unknown model). */
  dollars: number | null;
  reason?: string;
  issueUrl?: string;
  pullRequestUrl?: string;
  /** Set when the task ended: `succeeded` means a pull request with passing tests. */
  outcome?: TaskOutcome;
  /** Entries recorded in all, including those trimmed away. */
  transcriptEntries: number;
}

export type TaskOutcome = 'succeeded' | 'failed' | 'cancelled';

export interface TimelineEntry {
  stage: string;
  at: number;
  attempt: number;
}

export type TranscriptEntry =
  | {
      kind: 'model';
      at: number;
      turn: number;
      model: string;
      text: string;
      toolCalls: Array<{ name: string; arguments: string }>;
      usage: TokenUsage;
      dollars: number | null;
      compaction?: boolean;
    }
  | { kind: 'tool'; at: number; turn: number; name: string; arguments: string; output: string; testsPassed?: boolean };

/** One finished task, as usage reports count it. */
export interface UsageRecord {
  jobId: string;
  repo: string;
  kind: string;
  outcome: TaskOutcome;
  model?: string;
  usage: TokenUsage;
  dollars: number | null;
  queuedAt: number;
  finishedAt: number;
  pullRequestUrl?: string;
}

export function taskSummaryKey(prefix: string, jobId: string): string {
  return `${prefix}:record:${jobId}`;
}

export function timelineKey(prefix: string, jobId: string): string {
  return `${prefix}:record:${jobId}:timeline`;
}

export function transcriptKey(prefix: string, jobId: string): string {
  return `${prefix}:record:${jobId}:transcript`;
}

/** Job ids by start time, for the dashboard's list of recent tasks. */
export function recentTasksKey(prefix: string): string {
  return `${prefix}:records:recent`;
}

/** Job ids by finish time; the records themselves are in the hash at usageRecordsKey. */
export function usageIndexKey(prefix: string): string {
  return `${prefix}:usage:index`;
}

export function usageRecordsKey(prefix: string): string {
  return `${prefix}:usage:records`;
}
