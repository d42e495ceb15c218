import type { ChainableCommander, Redis } from 'ioredis';
import { addUsage, emptyUsage, type FunctionCall, type TokenUsage } from '../agent/conversation.ts';
import type { TranscriptSink } from '../agent/transcript-tap.ts';
import { clip } from '../util/markdown.ts';
import type { ProgressView } from '../github/progress-render.ts';
import type { Logger } from '../util/logger.ts';
import { redactDeep } from '../util/redact.ts';
import {
  recentTasksKey,
  TASK_RECORD_TTL_SECONDS,
  taskSummaryKey,
  timelineKey,
  TRANSCRIPT_MAX_ENTRIES,
  transcriptKey,
  USAGE_RETENTION_MS,
  usageIndexKey,
  usageRecordsKey,
  type TaskOutcome,
  type TaskSummary,
  type TimelineEntry,
  type TranscriptEntry,
  type UsageRecord,
} from './task-record.ts';

const MAX_TEXT = 4000;
const MAX_ARGUMENTS = 2000;
// Drops usage records past retention from both the index and the hash, atomically.
const TRIM_USAGE = `
local old = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[1], 'LIMIT', 0, 500)
if #old > 0 then
  redis.call('HDEL', KEYS[2], unpack(old))
  redis.call('ZREM', KEYS[1], unpack(old))
end
return #old`;
const TERMINAL: Record<string, TaskOutcome> = { done: 'succeeded', failed: 'failed', cancelled: 'cancelled' };

/** Adds a finished task to the usage records (and drops those past retention). */
function putUsageRecord(pipeline: ChainableCommander, prefix: string, s: TaskSummary): void {
  if (!s.outcome || s.finishedAt === undefined) return;
  const record: UsageRecord = {
    jobId: s.jobId,
    repo: s.repo,
    kind: s.kind,
    outcome: s.outcome,
    model: s.model,
    usage: s.usage,
    dollars: s.dollars,
    queuedAt: s.queuedAt,
    finishedAt: s.finishedAt,
    pullRequestUrl: s.pullRequestUrl,
  };
  const retention = Math.ceil(USAGE_RETENTION_MS / 1000);
  pipeline.hset(usageRecordsKey(prefix), s.jobId, JSON.stringify(record));
  pipeline.zadd(usageIndexKey(prefix), s.finishedAt, s.jobId);
  pipeline.eval(TRIM_USAGE, 2, usageIndexKey(prefix), usageRecordsKey(prefix), s.finishedAt - USAGE_RETENTION_MS);
  pipeline.expire(usageRecordsKey(prefix), retention);
  pipeline.expire(usageIndexKey(prefix), retention);
}

/**
 * Ends the record of a task that no task code will finish (its workers kept dying and BullMQ
 * failed it): the dashboard and the usage report count it as failed. False when there is no
 * open record.
 */
export async function closeTaskRecord(redis: Redis, prefix: string, jobId: string, reason: string, now = Date.now()): Promise<boolean> {
  const text = await redis.get(taskSummaryKey(prefix, jobId));
  if (!text) return false;
  const summary = JSON.parse(text) as TaskSummary;
  if (summary.outcome) return false;
  Object.assign(summary, { stage: 'failed', outcome: 'failed', reason, finishedAt: now, updatedAt: now });
  const pipeline = redis.pipeline();
  pipeline.rpush(timelineKey(prefix, jobId), JSON.stringify({ stage: 'failed', at: now, attempt: summary.attempt } satisfies TimelineEntry));
  pipeline.set(taskSummaryKey(prefix, jobId), JSON.stringify(summary), 'EX', TASK_RECORD_TTL_SECONDS);
  putUsageRecord(pipeline, prefix, summary);
  await pipeline.exec();
  return true;
}

export interface TaskRecorderOptions {
  redis: Redis;
  prefix: string;
  task: Pick<TaskSummary, 'jobId' | 'repo' | 'issueNumber' | 'pullNumber' | 'kind' | 'deliveryId' | 'triggeredBy' | 'attempt' | 'queuedAt'>;
  /** Known secret values (the set grows as tokens are minted). */
  secrets: Set<string>;
  log: Logger;
  /** Dollars for one response, null when the model has no price. */
  price: (model: string, usage: TokenUsage) => number | null;
  /** Told every response's usage, for the metrics. */
  onModelUsage?: (model: string, usage: TokenUsage, dollars: number | null) => void;
  now?: () => number;
}

/**
 * Records one task run in Redis: its summary, timeline and transcript, and a usage record when
 * it ends. Writes are sent without waiting (the connection queues them through a reconnect); a
 * failed write is logged once and never fails or slows the task.
 */
export class TaskRecorder implements TranscriptSink {
  readonly #options: TaskRecorderOptions;
  readonly #now: () => number;
  readonly #summary: TaskSummary;
  #turn = 0;
  #warned = false;

  constructor(options: TaskRecorderOptions) {
    this.#options = options;
    this.#now = options.now ?? Date.now;
    const now = this.#now();
    this.#summary = {
      ...options.task,
      startedAt: now,
      updatedAt: now,
      stage: 'queued',
      usage: emptyUsage(),
      dollars: null,
      transcriptEntries: 0,
    };
    const { prefix, task } = options;
    this.#send((pipeline) => {
      if (task.attempt === 1) this.#pushTimeline(pipeline, { stage: 'queued', at: task.queuedAt, attempt: 1 });
      pipeline.zadd(recentTasksKey(prefix), now, task.jobId);
      pipeline.zremrangebyscore(recentTasksKey(prefix), '-inf', now - TASK_RECORD_TTL_SECONDS * 1000);
      pipeline.expire(recentTasksKey(prefix), TASK_RECORD_TTL_SECONDS);
      this.#putSummary(pipeline);
    });
  }

  get summary(): TaskSummary {
    return this.#summary;
  }

  /** Links shown on the task page. */
  links(links: { issueUrl?: string }): void {
    Object.assign(this.#summary, links);
    this.#send((pipeline) => this.#putSummary(pipeline));
  }

  /** Every progress update (the progress comment's view): stages go on the timeline. */
  progress(view: ProgressView): void {
    const summary = this.#summary;
    const now = this.#now();
    const stageChanged = view.stage !== summary.stage;
    Object.assign(summary, {
      stage: view.stage,
      step: view.step ?? summary.step,
      maxSteps: view.maxSteps ?? summary.maxSteps,
      reason: view.reason ?? summary.reason,
      pullRequestUrl: view.pullRequestUrl ?? summary.pullRequestUrl,
    });
    const outcome = TERMINAL[view.stage];
    if (outcome && !summary.outcome) Object.assign(summary, { outcome, finishedAt: now });
    this.#send((pipeline) => {
      if (stageChanged) this.#pushTimeline(pipeline, { stage: view.stage, at: now, attempt: summary.attempt });
      this.#putSummary(pipeline);
      if (stageChanged && outcome) putUsageRecord(pipeline, this.#options.prefix, summary);
    });
  }

  modelTurn(turn: { model: string; text: string; toolCalls: FunctionCall[]; usage: TokenUsage; compaction?: boolean }): void {
    const summary = this.#summary;
    if (!turn.compaction) this.#turn++;
    const dollars = this.#options.price(turn.model, turn.usage);
    summary.model = turn.model;
    summary.usage = addUsage(summary.usage, turn.usage);
    if (dollars !== null) summary.dollars = (summary.dollars ?? 0) + dollars;
    this.#options.onModelUsage?.(turn.model, turn.usage, dollars);
    this.#addEntry({
      kind: 'model',
      at: this.#now(),
      turn: this.#turn,
      model: turn.model,
      text: clip(turn.text, MAX_TEXT),
      toolCalls: turn.toolCalls.map((call) => ({ name: call.name, arguments: clip(call.arguments, MAX_ARGUMENTS) })),
      usage: turn.usage,
      dollars,
      ...(turn.compaction ? { compaction: true } : {}),
    });
  }

  toolResult(result: { name: string; arguments: Record<string, unknown>; output: string; testsPassed?: boolean }): void {
    this.#addEntry({
      kind: 'tool',
      at: this.#now(),
      turn: this.#turn,
      name: result.name,
      arguments: clip(JSON.stringify(result.arguments), MAX_ARGUMENTS),
      output: clip(result.output, MAX_TEXT),
      ...(result.testsPassed === undefined ? {} : { testsPassed: result.testsPassed }),
    });
  }

  #addEntry(entry: TranscriptEntry): void {
    const { prefix, task } = this.#options;
    this.#summary.transcriptEntries++;
    this.#summary.updatedAt = entry.at;
    const key = transcriptKey(prefix, task.jobId);
    this.#send((pipeline) => {
      pipeline.rpush(key, JSON.stringify(redactDeep(entry, this.#options.secrets)));
      pipeline.ltrim(key, -TRANSCRIPT_MAX_ENTRIES, -1);
      pipeline.expire(key, TASK_RECORD_TTL_SECONDS);
      this.#putSummary(pipeline);
    });
  }

  #pushTimeline(pipeline: ChainableCommander, entry: TimelineEntry): void {
    const key = timelineKey(this.#options.prefix, this.#options.task.jobId);
    pipeline.rpush(key, JSON.stringify(entry));
    pipeline.expire(key, TASK_RECORD_TTL_SECONDS);
  }

  #putSummary(pipeline: ChainableCommander): void {
    const { prefix, task, secrets } = this.#options;
    this.#summary.updatedAt = Math.max(this.#summary.updatedAt, this.#now());
    pipeline.set(taskSummaryKey(prefix, task.jobId), JSON.stringify(redactDeep(this.#summary, secrets)), 'EX', TASK_RECORD_TTL_SECONDS);
  }

  #send(build: (pipeline: ChainableCommander) => void): void {
    const pipeline = this.#options.redis.pipeline();
    build(pipeline);
    pipeline
      .exec()
      .then((results) => {
        const failed = results?.find(([err]) => err)?.[0];
        if (failed) throw failed;
      })
      .catch((err: unknown) => {
        if (this.#warned) return;
        this.#warned = true;
        this.#options.log.warn({ err }, 'could not record the task for the dashboard; the task goes on');
      });
  }
}
