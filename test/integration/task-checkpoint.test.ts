import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { Redis } from 'ioredis';
import { forgetTask, loadTaskState, pullRequestBaseline, recordSpent, saveCheckpoint } from '../../src/state/task-checkpoint.ts';
import { connectTestRedis, deletePrefix, uniquePrefix } from '../support/redis.ts';

// The checkpoint a retried job resumes from, in a real Redis.

describe('task checkpoints in Redis', () => {
  let redis: Redis;
  const prefix = uniquePrefix('checkpoint');
  beforeAll(async () => {
    redis = await connectTestRedis();
  });
  afterAll(async () => {
    await deletePrefix(redis, prefix);
    redis.disconnect();
  });

  const agent = { history: [{ type: 'message' as const, role: 'user' as const, content: 'task' }], step: 5, compactions: 1, edited: true, testsPassed: false };
  const spent = { steps: 7, usage: { input: 10, cached: 2, output: 3, reasoning: 1 }, dollars: 0.5 };

  it('keeps the spending of every step and the last checkpoint, binary patch intact', async () => {
    const patch = Buffer.from([0, 255, 10, 13, 0x47, 0x49, 0x54]);
    await saveCheckpoint(redis, prefix, 'job-1', { startSha: 'a'.repeat(40), patch, agent, savedAt: 1 });
    await recordSpent(redis, prefix, 'job-1', spent);
    const state = await loadTaskState(redis, prefix, 'job-1');
    expect(state.spent).toEqual(spent);
    expect(state.checkpoint?.patch.equals(patch)).toBe(true);
    expect(state.checkpoint?.agent).toEqual(agent);
    expect(state.checkpoint?.startSha).toBe('a'.repeat(40));
  });

  it('a task never seen has spent nothing and has no checkpoint', async () => {
    expect(await loadTaskState(redis, prefix, 'job-new')).toEqual({ spent: { steps: 0, usage: { input: 0, cached: 0, output: 0, reasoning: 0 }, dollars: 0 } });
  });

  it('a malformed checkpoint is reported and not used; the spending still counts', async () => {
    await recordSpent(redis, prefix, 'job-2', spent);
    await redis.hset(`${prefix}:checkpoint:job-2`, 'meta', '{"startSha":"not a sha"}', 'patch', 'x');
    const state = await loadTaskState(redis, prefix, 'job-2');
    expect(state.checkpoint).toBeUndefined();
    expect(state.unusable).toMatch(/malformed/);
    expect(state.spent).toEqual(spent);
  });

  it("the pull request's earlier spending is taken once, so a retried task does not count itself", async () => {
    let asked = 0;
    const current = async () => ({ tokens: 1000 * ++asked, dollars: asked });
    expect(await pullRequestBaseline(redis, prefix, 'job-3', current)).toEqual({ tokens: 1000, dollars: 1 });
    // The task's own first run added to the pull request's totals; its retry still sees the total from before.
    expect(await pullRequestBaseline(redis, prefix, 'job-3', current)).toEqual({ tokens: 1000, dollars: 1 });
    expect(asked).toBe(1);
  });

  it('a finished task leaves nothing behind', async () => {
    await forgetTask(redis, prefix, 'job-1');
    expect(await redis.exists(`${prefix}:checkpoint:job-1`)).toBe(0);
  });
});
