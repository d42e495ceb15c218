import type { Redis } from 'ioredis';
import { z } from 'zod';
import type { AgentSnapshot, TaskSpent } from '../agent/agent-snapshot.ts';
import type { ConversationItem } from '../agent/conversation.ts';
import type { TestRun } from '../workspace/test-outcomes.ts';

// What a task has done so far, kept in Redis so a retried job — on any worker, after a crash, a
// lost lock or a parked wait — continues instead of starting over, and so its limits count
// everything it already spent. One hash per job, removed when the task ends.
const TTL_SECONDS = 7 * 24 * 3600;

export interface TaskCheckpoint {
  /** The commit the box's tree started from; the patch applies to it. */
  startSha: string;
  /** The work tree at the snapshot, as a binary patch against `startSha`. */
  patch: Buffer;
  agent: AgentSnapshot;
  /** The worker's test run on the start commit, before the agent changed anything. */
  baseTests?: TestRun;
  savedAt: number;
}

const usageSchema = z.object({ input: z.number(), cached: z.number(), output: z.number(), reasoning: z.number() });
const spentSchema = z.object({ steps: z.number(), usage: usageSchema, dollars: z.number() });
const testRunSchema = z.object({
  sha: z.string(),
  command: z.string(),
  exitCode: z.number().nullable(),
  timedOut: z.boolean(),
  outcomes: z.object({ runners: z.array(z.custom<TestRun['outcomes']['runners'][number]>((r) => typeof r === 'string')), failed: z.array(z.string()), passed: z.array(z.string()) }),
});
const metaSchema = z.object({
  startSha: z.string().regex(/^[0-9a-f]{40,64}$/),
  savedAt: z.number(),
  baseTests: testRunSchema.optional(),
  agent: z.object({
    history: z.array(z.custom<ConversationItem>((item) => typeof item === 'object' && item !== null && 'type' in item)),
    step: z.number().int().min(0),
    compactions: z.number().int().min(0),
    edited: z.boolean(),
    testsPassed: z.boolean().nullable(),
    lastTestOutput: z.string().optional(),
  }),
});

function key(prefix: string, jobId: string): string {
  return `${prefix}:checkpoint:${jobId}`;
}

export function emptySpent(): TaskSpent {
  return { steps: 0, usage: { input: 0, cached: 0, output: 0, reasoning: 0 }, dollars: 0 };
}

/** The task's totals, after every step: cheap, so a crash between checkpoints loses no spending. */
export async function recordSpent(redis: Redis, prefix: string, jobId: string, spent: TaskSpent): Promise<void> {
  await redis.multi().hset(key(prefix, jobId), 'spent', JSON.stringify(spent)).expire(key(prefix, jobId), TTL_SECONDS).exec();
}

export async function saveCheckpoint(redis: Redis, prefix: string, jobId: string, checkpoint: TaskCheckpoint): Promise<void> {
  const meta = { startSha: checkpoint.startSha, savedAt: checkpoint.savedAt, agent: checkpoint.agent, baseTests: checkpoint.baseTests };
  await redis.multi().hset(key(prefix, jobId), 'meta', JSON.stringify(meta), 'patch', checkpoint.patch).expire(key(prefix, jobId), TTL_SECONDS).exec();
}

export interface StoredTaskState {
  spent: TaskSpent;
  checkpoint?: TaskCheckpoint;
  /** Why a stored checkpoint could not be used, when one was there. */
  unusable?: string;
}

/** What earlier runs of this job left: their spending always, their checkpoint when it is whole. */
export async function loadTaskState(redis: Redis, prefix: string, jobId: string): Promise<StoredTaskState> {
  const [spentRaw, metaRaw, patch] = await redis.hmgetBuffer(key(prefix, jobId), 'spent', 'meta', 'patch');
  const spentParsed = spentRaw ? spentSchema.safeParse(JSON.parse(spentRaw.toString('utf8'))) : undefined;
  const spent = spentParsed?.success ? spentParsed.data : emptySpent();
  if (!metaRaw || !patch) return { spent };
  try {
    const meta = metaSchema.parse(JSON.parse(metaRaw.toString('utf8')));
    return { spent, checkpoint: { ...meta, patch } };
  } catch (err) {
    return { spent, unusable: `the saved checkpoint is malformed (${(err as Error).message.split('\n')[0]})` };
  }
}

/** What the pull request had cost before this task first ran (kept once, so a retry does not count itself). */
export async function pullRequestBaseline(redis: Redis, prefix: string, jobId: string, current: () => Promise<{ tokens: number; dollars: number }>): Promise<{ tokens: number; dollars: number }> {
  const stored = await redis.hget(key(prefix, jobId), 'baseline');
  if (stored) return JSON.parse(stored) as { tokens: number; dollars: number };
  const value = await current();
  await redis.multi().hsetnx(key(prefix, jobId), 'baseline', JSON.stringify(value)).expire(key(prefix, jobId), TTL_SECONDS).exec();
  return JSON.parse((await redis.hget(key(prefix, jobId), 'baseline')) ?? JSON.stringify(value)) as { tokens: number; dollars: number };
}

export async function forgetTask(redis: Redis, prefix: string, jobId: string): Promise<void> {
  await redis.del(key(prefix, jobId));
}
