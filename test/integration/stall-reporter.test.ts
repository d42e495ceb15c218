import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { Queue, Worker } from 'bullmq';
import type { Redis } from 'ioredis';
import { createModelClient } from '../../src/agent/model-client.ts';
import { loadEnv } from '../../src/config/env.ts';
import { TASK_QUEUE_NAME } from '../../src/queue/task-queue.ts';
import { TASK_REQUEST_VERSION } from '../../src/queue/task-request.ts';
import { createMetrics } from '../../src/observability/metrics.ts';
import { createLogger } from '../../src/util/logger.ts';
import { reportStalledFailures } from '../../src/worker/stall-reporter.ts';
import { waitFor } from '../support/app-process.ts';
import { startGitHubSim, type GitHubSim } from '../support/github-sim.ts';
import { connectTestRedis, deletePrefix, TEST_REDIS_URL, uniquePrefix } from '../support/redis.ts';
import { buggyCalculator } from '../fixtures/buggy-calculator.ts';

describe('a task failed by the stalled-job check', () => {
  let github: GitHubSim;
  let redis: Redis;
  const prefix = uniquePrefix('stall');
  const connection = { host: '127.0.0.1', port: 6379, maxRetriesPerRequest: null };

  beforeAll(async () => {
    redis = await connectTestRedis();
    github = await startGitHubSim();
  });

  afterAll(async () => {
    await github.close();
    await deletePrefix(redis, prefix);
    redis.disconnect();
  });

  it('gets its progress comment closed with the reason', async () => {
    const repo = await github.createRepo({ owner: 'acme', name: 'stalls', files: buggyCalculator });
    const issueNumber = github.createIssue('acme', 'stalls', { title: 't', body: 'b', user: 'maintainer' });
    const env = loadEnv({ REDIS_URL: TEST_REDIS_URL, AI_FIX_QUEUE_PREFIX: prefix });
    const reporter = await reportStalledFailures({
      env,
      app: { appId: github.appId, privateKey: github.privateKey, baseUrl: github.apiUrl },
      modelClient: createModelClient({ apiKey: 'unused' }),
      redis,
      workdir: '/nonexistent',
      log: createLogger({ level: 'silent' }),
      secrets: new Set(),
      sandbox: { mode: 'none', limits: { memoryBytes: 1 << 30, processes: 256, fileSizeBytes: 1 << 30 }, hidden: [], tmpBytes: 1 << 28, exposed: [], env: {}, toolchains: {}, networkAllow: [] },
      metrics: createMetrics(),
    });
    const queue = new Queue(TASK_QUEUE_NAME, { connection, prefix });
    await queue.add('solve', {
      version: TASK_REQUEST_VERSION,
      kind: 'solve',
      repo: { id: repo.id, owner: 'acme', name: 'stalls' },
      installationId: github.installationId,
      issueNumber,
      trigger: { login: 'maintainer', event: 'issues.labeled', deliveryId: 'd1' },
      options: {},
      requestedAt: new Date().toISOString(),
    }, { jobId: 'solve-stalls' });
    // Take the job by hand and fail it the way BullMQ's stalled check does.
    const worker = new Worker(TASK_QUEUE_NAME, null, { connection, prefix });
    const job = await worker.getNextJob('token-1');
    await job?.moveToFailed(new Error('job stalled more than allowable limit'), 'token-1');

    const comment = await waitFor('the failure comment', () => github.issueComments('acme', 'stalls', issueNumber)[0], 20_000);
    expect(comment.body).toContain('could not finish this task');
    expect(comment.body).toContain('stopped too many times');
    await worker.close();
    await queue.close();
    await reporter.close();
  }, 30_000);
});
