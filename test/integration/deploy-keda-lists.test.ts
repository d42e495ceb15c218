import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { Worker } from 'bullmq';
import type { Redis } from 'ioredis';
import { createTaskQueue, TASK_QUEUE_NAME, type TaskQueue } from '../../src/queue/task-queue.ts';
import { TASK_REQUEST_VERSION } from '../../src/queue/task-request.ts';
import { find, renderChart } from '../support/helm-chart.ts';
import { connectTestRedis, deletePrefix, uniquePrefix } from '../support/redis.ts';

// KEDA's redis trigger counts a Redis list with LLEN: the chart must name the lists BullMQ
// really keeps its waiting and running jobs in.
describe("the chart's KEDA triggers", () => {
  let redis: Redis;
  let queue: TaskQueue;
  const prefix = uniquePrefix('keda');
  const connection = { host: '127.0.0.1', port: 6379, maxRetriesPerRequest: null };

  beforeAll(async () => {
    redis = await connectTestRedis();
    queue = createTaskQueue(connection, prefix);
  });

  afterAll(async () => {
    await queue.close();
    await deletePrefix(redis, prefix);
    redis.disconnect();
  });

  it('count the queue’s waiting and running tasks', async () => {
    const manifests = renderChart({
      secret: { existingSecret: 'credentials' },
      config: { queuePrefix: prefix },
      autoscaling: { enabled: true, kind: 'keda', keda: { redis: { address: '127.0.0.1:6379' } } },
    });
    const triggers = (find(manifests, 'ScaledObject').spec as { triggers: Array<{ metadata: { listName: string } }> }).triggers;
    const [waitList = '', activeList = ''] = triggers.map((t) => t.metadata.listName);
    const lengths = async () => [await redis.llen(waitList), await redis.llen(activeList)];

    for (const n of [1, 2, 3]) {
      await queue.add('solve', {
        version: TASK_REQUEST_VERSION,
        kind: 'solve',
        repo: { id: 1, owner: 'acme', name: 'keda' },
        installationId: 1,
        issueNumber: n,
        trigger: { login: 'maintainer', event: 'issues.labeled', deliveryId: `d${n}` },
        options: {},
        requestedAt: new Date().toISOString(),
      }, { jobId: `keda-${n}` });
    }
    expect(await lengths()).toEqual([3, 0]);
    expect(await redis.type(waitList)).toBe('list');

    const worker = new Worker(TASK_QUEUE_NAME, null, { connection, prefix });
    try {
      await worker.getNextJob('token-1');
      expect(await lengths()).toEqual([2, 1]);
      expect(await redis.type(activeList)).toBe('list');
    } finally {
      await worker.close();
    }
  });
});
