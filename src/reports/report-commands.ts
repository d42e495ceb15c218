import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import type { Env } from '../config/env.ts';
import { readUsageRecords } from '../observability/task-records.ts';
import { parsePeriod, usageReport } from '../observability/usage-report.ts';
import { assertRedisReachable, failFastRedisOptions } from '../queue/redis-connection.ts';
import { INTAKE_QUEUE_NAME } from '../app/intake-queue.ts';
import { TASK_QUEUE_NAME } from '../queue/task-queue.ts';
import { ConfigError } from '../util/errors.ts';
import { formatQueueStatus, readQueueStatus } from './status-report.ts';
import { formatUsageReport } from './usage-text.ts';

export const STATUS_USAGE = 'Usage: ai-fix status\n\nThe task queue (waiting, active, delayed, failed), the labels being decided, and the running tasks, read from Redis (REDIS_URL, AI_FIX_QUEUE_PREFIX).\n';
export const USAGE_USAGE =
  'Usage: ai-fix usage [--since 7d]\n\nTasks, success rate, median time to PR, tokens and spend per repository and per day, read from Redis.\n--since: a period back from now: 24h, 7d, 2w (default 7d).\n';

async function withRedis<T>(env: Env, run: (redis: Redis, queue: Queue, intake: Queue) => Promise<T>): Promise<T> {
  await assertRedisReachable(env.redisUrl);
  const options = failFastRedisOptions(env.redisUrl);
  const redis = new Redis({ ...options, lazyConnect: true });
  const queue = new Queue(TASK_QUEUE_NAME, { connection: options, prefix: env.queuePrefix });
  const intake = new Queue(INTAKE_QUEUE_NAME, { connection: options, prefix: env.queuePrefix });
  // Connection errors surface as the command's own rejection; the events would only repeat them.
  redis.on('error', () => {});
  queue.on('error', () => {});
  intake.on('error', () => {});
  try {
    await redis.connect();
    return await run(redis, queue, intake);
  } finally {
    await Promise.all([queue.close().catch(() => {}), intake.close().catch(() => {})]);
    redis.disconnect();
  }
}

export async function statusCommand(env: Env): Promise<string> {
  return withRedis(env, async (redis, queue, intake) => formatQueueStatus(await readQueueStatus(queue, intake, redis, env.queuePrefix, Date.now()), env.queuePrefix));
}

export function parseSince(args: string[]): string {
  const index = args.findIndex((arg) => arg === '--since' || arg.startsWith('--since='));
  if (index < 0) return '7d';
  const arg = args[index]!;
  const value = arg.includes('=') ? arg.slice(arg.indexOf('=') + 1) : args[index + 1];
  if (!value || parsePeriod(value) === undefined) throw new ConfigError('--since: a period like 24h, 7d or 2w');
  return value;
}

export async function usageCommand(env: Env, period: string): Promise<string> {
  const span = parsePeriod(period) ?? 0;
  return withRedis(env, async (redis) => {
    const now = Date.now();
    const records = await readUsageRecords(redis, env.queuePrefix, now - span);
    return formatUsageReport(usageReport(records, now - span, now), period);
  });
}
