import type { RedisOptions as BullRedisOptions } from 'bullmq';
import { Redis } from 'ioredis';
import { ConfigError } from '../util/errors.ts';

export const REDIS_START_HINT =
  'start one with: redis-server --daemonize yes --bind 127.0.0.1 --port 6379, or set REDIS_URL';

/**
 * Connection options for BullMQ from REDIS_URL. BullMQ workers need maxRetriesPerRequest null
 * (blocking commands must wait through a reconnect instead of failing).
 */
export function redisOptions(redisUrl: string): BullRedisOptions {
  const url = new URL(redisUrl);
  const db = url.pathname.length > 1 ? Number(url.pathname.slice(1)) : 0;
  return {
    host: url.hostname.replace(/^\[|\]$/g, ''),
    port: url.port ? Number(url.port) : 6379,
    username: url.username ? decodeURIComponent(url.username) : undefined,
    password: url.password ? decodeURIComponent(url.password) : undefined,
    db: Number.isInteger(db) ? db : 0,
    tls: url.protocol === 'rediss:' ? {} : undefined,
    maxRetriesPerRequest: null,
    // Reconnect for ever with a capped backoff: a Redis restart must not kill the process.
    retryStrategy: (times: number) => Math.min(times * 200, 5000),
  };
}

export function createRedis(redisUrl: string): Redis {
  return new Redis(redisOptions(redisUrl));
}

/**
 * For the webhook server: commands fail at once while Redis is away instead of queueing, so a
 * webhook is answered with an error rather than held until GitHub gives up on it.
 */
export function failFastRedisOptions(redisUrl: string): BullRedisOptions {
  return { ...redisOptions(redisUrl), enableOfflineQueue: false, maxRetriesPerRequest: 1 };
}

/** Fails fast with a clear message instead of letting ioredis retry forever at start-up. */
export async function assertRedisReachable(redisUrl: string, timeoutMs = 3000): Promise<void> {
  const probe = new Redis({
    ...redisOptions(redisUrl),
    lazyConnect: true,
    connectTimeout: timeoutMs,
    maxRetriesPerRequest: 0,
    retryStrategy: () => null,
  });
  probe.on('error', () => {});
  try {
    await probe.connect();
    await probe.ping();
  } catch (err) {
    const where = new URL(redisUrl);
    where.password = '';
    throw new ConfigError(
      `REDIS_URL: cannot reach Redis at ${where.host} (${(err as Error).message}); ${REDIS_START_HINT}`,
    );
  } finally {
    probe.disconnect();
  }
}
