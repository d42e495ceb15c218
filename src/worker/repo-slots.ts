import { DelayedError } from 'bullmq';
import type { Redis } from 'ioredis';
import type { TaskJob, TaskQueue } from '../queue/task-queue.ts';
import type { Logger } from '../util/logger.ts';

// The per-repository limit is a counting semaphore in Redis, shared by every worker: a sorted set
// of the job ids holding a slot, scored by when their lease ends (Redis's clock, so the workers'
// clocks do not matter). A killed worker stops renewing and its slot lapses by itself; the same
// job taking its slot again (a retry, a rerun after a crash) is let through. Jobs over the limit
// line up in a second sorted set, oldest first, and wait as delayed jobs: a release wakes the
// oldest, and a fallback delay covers a wake-up that was missed.

const NOW = `local t = redis.call('TIME') local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)`;
// The key lives as long as its longest lease.
const EXPIRE_WITH_LAST_LEASE = `local last = redis.call('ZRANGE', KEYS[1], -1, -1, 'WITHSCORES')
if last[2] then redis.call('PEXPIREAT', KEYS[1], last[2]) end`;
const WAITERS_TTL_SECONDS = 7 * 24 * 3600;

// KEYS: slots, waiters. ARGV: limit, lease ms, job id. 1 = taken, 0 = full (now waiting).
const TAKE = `${NOW}
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
if redis.call('ZSCORE', KEYS[1], ARGV[3]) or redis.call('ZCARD', KEYS[1]) < tonumber(ARGV[1]) then
  redis.call('ZADD', KEYS[1], now + tonumber(ARGV[2]), ARGV[3])
  ${EXPIRE_WITH_LAST_LEASE}
  redis.call('ZREM', KEYS[2], ARGV[3])
  return 1
end
redis.call('ZADD', KEYS[2], 'NX', now, ARGV[3])
redis.call('EXPIRE', KEYS[2], ${WAITERS_TTL_SECONDS})
return 0`;

// KEYS: slots. ARGV: lease ms, job id. 1 = still held.
const RENEW = `${NOW}
if not redis.call('ZSCORE', KEYS[1], ARGV[2]) then return 0 end
redis.call('ZADD', KEYS[1], now + tonumber(ARGV[1]), ARGV[2])
${EXPIRE_WITH_LAST_LEASE}
return 1`;

// KEYS: slots. ARGV: limit. 1 = a slot is free.
const HAS_ROOM = `${NOW}
return redis.call('ZCOUNT', KEYS[1], '(' .. now, '+inf') < tonumber(ARGV[1]) and 1 or 0`;

// KEYS: slots, waiters. ARGV: job id. Returns the oldest waiters, to wake one.
const RELEASE = `redis.call('ZREM', KEYS[1], ARGV[1])
return redis.call('ZRANGE', KEYS[2], 0, 9)`;

export interface RepoSlot {
  release(): Promise<void>;
}

const UNLIMITED: RepoSlot = { release: async () => {} };

export function waitingMessage(limit: number): string {
  return `Waiting for another task on this repository to finish: ai-fix runs at most ${limit} task${limit === 1 ? '' : 's'} of a repository at a time.`;
}

export class RepoSlots {
  readonly #redis: Redis;
  readonly #queue: TaskQueue;
  readonly #prefix: string;
  readonly #defaultLimit: number;
  readonly #leaseMs: number;
  readonly #log: Logger;

  constructor(options: { redis: Redis; queue: TaskQueue; prefix: string; defaultLimit: number; leaseMs: number; log: Logger }) {
    this.#redis = options.redis;
    this.#queue = options.queue;
    this.#prefix = options.prefix;
    this.#defaultLimit = options.defaultLimit;
    this.#leaseMs = options.leaseMs;
    this.#log = options.log;
  }

  /**
   * Takes a slot of the job's repository, or puts the job back to wait for one: then `onWait` is
   * told why and DelayedError is thrown (the BullMQ way to hand a job back without failing it).
   */
  async take(
    job: TaskJob,
    token: string | undefined,
    repoId: number,
    configuredLimit: number | undefined,
    onWait: (message: string) => Promise<void>,
  ): Promise<RepoSlot> {
    const limit = configuredLimit ?? this.#defaultLimit;
    if (limit <= 0) return UNLIMITED;
    const jobId = job.id ?? 'unknown';
    const slots = `${this.#prefix}:repo-slots:${repoId}`;
    const waiters = `${this.#prefix}:repo-waiters:${repoId}`;
    const taken = await this.#redis.eval(TAKE, 2, slots, waiters, limit, this.#leaseMs, jobId);
    if (taken === 1) return this.#held(slots, waiters, jobId);

    await onWait(waitingMessage(limit));
    await job.moveToDelayed(Date.now() + Math.max(this.#leaseMs, 10_000), token);
    // A slot freed while this job was still active could not wake it: look once more.
    if ((await this.#redis.eval(HAS_ROOM, 1, slots, limit)) === 1) await job.promote().catch(() => {});
    throw new DelayedError();
  }

  #held(slots: string, waiters: string, jobId: string): RepoSlot {
    const renewal = setInterval(() => {
      this.#redis
        .eval(RENEW, 1, slots, this.#leaseMs, jobId)
        .then((held) => {
          if (held !== 1) this.#log.warn({ jobId }, 'the repository slot lapsed (Redis unreachable for a whole lease?)');
        })
        .catch((err: unknown) => this.#log.warn({ err }, 'could not renew the repository slot'));
    }, Math.max(1000, Math.floor(this.#leaseMs / 3)));
    renewal.unref();
    let released = false;
    return {
      release: async () => {
        if (released) return;
        released = true;
        clearInterval(renewal);
        try {
          const oldest = (await this.#redis.eval(RELEASE, 2, slots, waiters, jobId)) as string[];
          await this.#wakeOne(waiters, oldest);
        } catch (err) {
          // The lease lapses by itself; a waiter is woken by its fallback delay.
          this.#log.warn({ err }, 'could not release the repository slot');
        }
      },
    };
  }

  /** Wakes the oldest waiter still delayed; drops waiters whose jobs are gone or finished. */
  async #wakeOne(waiters: string, candidates: string[]): Promise<void> {
    for (const id of candidates) {
      const job = await this.#queue.getJob(id);
      const state = job ? await job.getState() : 'unknown';
      if (state === 'delayed') {
        // It may have been promoted by its own timer meanwhile; then it is on its way anyway.
        await job?.promote().catch(() => {});
        return;
      }
      // About to try by itself.
      if (state === 'waiting' || state === 'prioritized' || state === 'active') return;
      await this.#redis.zrem(waiters, id);
    }
  }
}
