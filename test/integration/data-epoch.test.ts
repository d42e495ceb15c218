import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { Redis } from 'ioredis';
import { claimDataEpoch } from '../../src/state/data-epoch.ts';
import { connectTestRedis, deletePrefix, uniquePrefix } from '../support/redis.ts';

describe('the data-epoch marker', () => {
  let redis: Redis;
  const prefix = uniquePrefix('epoch');

  beforeAll(async () => {
    redis = await connectTestRedis();
  });

  afterAll(async () => {
    await deletePrefix(redis, prefix);
    redis.disconnect();
  });

  it('of several servers finding Redis without it, exactly one reconciles; once its data is lost, one does again', async () => {
    const first = await Promise.all([1, 2, 3].map(() => claimDataEpoch(redis, prefix)));
    expect(first.filter((claim) => claim.fresh)).toHaveLength(1);
    expect(new Set(first.map((claim) => claim.epoch)).size).toBe(1);
    expect(await claimDataEpoch(redis, prefix)).toEqual({ epoch: first[0]!.epoch, fresh: false });

    // What a Redis that restarted without its data looks like to the prefix.
    await deletePrefix(redis, prefix);
    const second = await Promise.all([1, 2].map(() => claimDataEpoch(redis, prefix)));
    expect(second.filter((claim) => claim.fresh)).toHaveLength(1);
    expect(second[0]!.epoch).not.toBe(first[0]!.epoch);
  });
});
