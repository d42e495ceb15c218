import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { DelayedError, Queue, Worker } from 'bullmq';
import type { Redis } from 'ioredis';
import { TASK_QUEUE_NAME, type TaskJob, type TaskQueue } from '../../src/queue/task-queue.ts';
import { TASK_REQUEST_VERSION, type TaskRequest } from '../../src/queue/task-request.ts';
import { createLogger } from '../../src/util/logger.ts';
import { RepoSlots, waitingMessage } from '../../src/worker/repo-slots.ts';
import { waitFor } from '../support/app-process.ts';
import { connectTestRedis, deletePrefix, uniquePrefix } from '../support/redis.ts';

const REPO_ID = 4711;

function request(n: number): TaskRequest {
  return {
    version: TASK_REQUEST_VERSION,
    kind: 'solve',
    repo: { id: REPO_ID, owner: 'acme', name: 'slots' },
    installationId: 1,
    issueNumber: n,
    trigger: { login: 'maintainer', event: 'issues.labeled', deliveryId: `d${n}` },
    options: {},
    requestedAt: new Date().toISOString(),
  };
}

describe('per-repository slots (a Redis counting semaphore with leases)', () => {
  let redis: Redis;
  let queue: TaskQueue;
  let worker: Worker<TaskRequest>;
  const prefix = uniquePrefix('slots');
  const connection = { host: '127.0.0.1', port: 6379, maxRetriesPerRequest: null };
  const slotsKey = `${prefix}:repo-slots:${REPO_ID}`;
  const log = createLogger({ level: 'silent' });
  let next = 0;

  /** A job taken by hand, active with `token`, as a worker would hold it. */
  async function activeJob(): Promise<{ job: TaskJob; token: string }> {
    next++;
    await queue.add('solve', request(next), { jobId: `solve-slots-${next}` });
    const token = `token-${next}`;
    const job = (await worker.getNextJob(token)) as TaskJob | undefined;
    if (!job) throw new Error('no job to take');
    return { job, token };
  }

  function slots(options: { limit?: number; leaseMs?: number } = {}): RepoSlots {
    return new RepoSlots({ redis, queue, prefix, defaultLimit: options.limit ?? 0, leaseMs: options.leaseMs ?? 60_000, log });
  }

  beforeAll(async () => {
    redis = await connectTestRedis();
    queue = new Queue(TASK_QUEUE_NAME, { connection, prefix });
    worker = new Worker(TASK_QUEUE_NAME, null, { connection, prefix });
  });

  afterAll(async () => {
    await worker.close();
    await queue.close();
    await deletePrefix(redis, prefix);
    redis.disconnect();
  });

  it('lets `limit` tasks in, puts the next back as delayed with a message, and a release wakes it', async () => {
    const limited = slots({ limit: 2 });
    const a = await activeJob();
    const b = await activeJob();
    const c = await activeJob();
    const messages: string[] = [];
    const onWait = async (message: string) => {
      messages.push(message);
    };

    const slotA = await limited.take(a.job, a.token, REPO_ID, undefined, onWait);
    const slotB = await limited.take(b.job, b.token, REPO_ID, undefined, onWait);
    await expect(limited.take(c.job, c.token, REPO_ID, undefined, onWait)).rejects.toBeInstanceOf(DelayedError);
    expect(messages).toEqual([waitingMessage(2)]);
    expect(await c.job.getState()).toBe('delayed');
    expect(await redis.zcard(slotsKey)).toBe(2);

    await slotA.release();
    expect(await c.job.getState()).toBe('waiting');
    expect(await redis.zrange(slotsKey, '0', '-1')).toEqual([b.job.id]);
    await slotB.release();
    expect(await redis.exists(slotsKey)).toBe(0);
    // The woken job is taken again by a worker and gets its slot.
    const again = (await worker.getNextJob('token-c2')) as TaskJob;
    expect(again.id).toBe(c.job.id);
    const slotC = await limited.take(again, 'token-c2', REPO_ID, undefined, onWait);
    await slotC.release();
  });

  it("the repository's own limit overrides the default, and no limit takes no slot", async () => {
    const a = await activeJob();
    const b = await activeJob();
    const noWait = async () => {
      throw new Error('should not wait');
    };
    const unlimited = slots({ limit: 0 });
    const first = await unlimited.take(a.job, a.token, REPO_ID, undefined, noWait);
    const second = await unlimited.take(b.job, b.token, REPO_ID, undefined, noWait);
    expect(await redis.exists(slotsKey)).toBe(0);
    await Promise.all([first.release(), second.release()]);

    const c = await activeJob();
    const oneByConfig = await slots({ limit: 0 }).take(a.job, a.token, REPO_ID, 1, noWait);
    await expect(slots({ limit: 5 }).take(c.job, c.token, REPO_ID, 1, async () => {})).rejects.toBeInstanceOf(DelayedError);
    await oneByConfig.release();
  });

  it('lets the same job take its slot again (a rerun after its worker died)', async () => {
    const limited = slots({ limit: 1 });
    const a = await activeJob();
    const first = await limited.take(a.job, a.token, REPO_ID, undefined, async () => {});
    const rerun = await limited.take(a.job, a.token, REPO_ID, undefined, async () => {
      throw new Error('the same job must not wait for itself');
    });
    expect(await redis.zcard(slotsKey)).toBe(1);
    await rerun.release();
    await first.release();
  });

  it("a dead holder's lease lapses, and a live holder's lease is renewed", async () => {
    // A slot whose holder stopped renewing long ago (its lease ended a second ago).
    const [seconds] = await redis.time();
    await redis.zadd(slotsKey, (Number(seconds) - 1) * 1000, 'solve-slots-dead');
    const limited = slots({ limit: 1, leaseMs: 3000 });
    const a = await activeJob();
    const slot = await limited.take(a.job, a.token, REPO_ID, undefined, async () => {
      throw new Error('the lapsed slot should have been free');
    });
    expect(await redis.zrange(slotsKey, '0', '-1')).toEqual([a.job.id]);

    // Held past its first lease: renewal keeps it, so another job still waits.
    const firstLease = Number(await redis.zscore(slotsKey, a.job.id ?? ''));
    const renewed = await waitFor('the lease renewed', async () => {
      const score = Number(await redis.zscore(slotsKey, a.job.id ?? ''));
      return score > firstLease ? score : undefined;
    }, 15_000, 100);
    // Past the first lease's end: a slot that was not renewed would have lapsed by now.
    await waitFor('the first lease to have ended', async () => {
      const [seconds, micros] = await redis.time();
      return Number(seconds) * 1000 + Number(micros) / 1000 > firstLease;
    }, 15_000, 100);
    expect(renewed).toBeGreaterThan(firstLease);
    const b = await activeJob();
    await expect(limited.take(b.job, b.token, REPO_ID, undefined, async () => {})).rejects.toBeInstanceOf(DelayedError);
    await slot.release();
    expect(await b.job.getState()).toBe('waiting');
  }, 20_000);
});
