import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { Redis } from 'ioredis';
import { closeTaskRecord, TaskRecorder } from '../../src/observability/task-recorder.ts';
import { TRANSCRIPT_MAX_ENTRIES } from '../../src/observability/task-record.ts';
import { readRecentTasks, readTaskRecord, readUsageRecords } from '../../src/observability/task-records.ts';
import { createLogger, type Logger } from '../../src/util/logger.ts';
import { freePort, waitFor } from '../support/app-process.ts';
import { connectTestRedis, deletePrefix, uniquePrefix } from '../support/redis.ts';

const SECRET = 'ghs_0123456789abcdefghijABCDEFGHIJ';
const usage = { input: 1000, cached: 200, output: 50, reasoning: 10 };

function recorder(redis: Redis, prefix: string, jobId: string, log: Logger = createLogger({ level: 'silent' })): TaskRecorder {
  return new TaskRecorder({
    redis,
    prefix,
    task: { jobId, repo: 'acme/app', issueNumber: 4, kind: 'solve', deliveryId: 'd-1', triggeredBy: 'maintainer', attempt: 1, queuedAt: Date.now() - 5000 },
    secrets: new Set(['known-secret-value-123']),
    log,
    price: () => 0.25,
  });
}

describe('task recorder', () => {
  let redis: Redis;
  const prefix = uniquePrefix('recorder');

  beforeAll(async () => {
    redis = await connectTestRedis();
  });

  afterAll(async () => {
    await deletePrefix(redis, prefix);
    redis.disconnect();
  });

  it('records the summary, timeline, redacted transcript and a usage record for the dashboard', async () => {
    const rec = recorder(redis, prefix, 'job-1');
    rec.progress({ stage: 'preparing' });
    rec.progress({ stage: 'working', step: 0, maxSteps: 60 });
    rec.modelTurn({ model: 'gpt-5-codex', text: 'Plan: fix it', toolCalls: [{ callId: 'c1', name: 'run_shell', arguments: `{"command":"echo ${SECRET}"}` }], usage });
    rec.toolResult({ name: 'run_shell', arguments: { command: `echo ${SECRET}` }, output: `exit code 0 after 0.1s\n${SECRET} known-secret-value-123` });
    rec.progress({ stage: 'working', step: 1 });
    rec.progress({ stage: 'done', pullRequestUrl: 'http://github.local/acme/app/pull/9' });

    const record = await waitFor('the finished record', async () => {
      const r = await readTaskRecord(redis, prefix, 'job-1');
      return r?.summary.outcome ? r : undefined;
    }, 10_000);
    expect(record.summary).toMatchObject({ outcome: 'succeeded', stage: 'done', step: 1, maxSteps: 60, dollars: 0.25, model: 'gpt-5-codex', transcriptEntries: 2 });
    expect(record.timeline.map((e) => e.stage)).toEqual(['queued', 'preparing', 'working', 'done']);
    const text = JSON.stringify(record.transcript);
    expect(text).not.toContain(SECRET);
    expect(text).not.toContain('known-secret-value-123');
    expect(text).toContain('[REDACTED]');
    const [usageRecord] = await readUsageRecords(redis, prefix, 0);
    expect(usageRecord).toMatchObject({ jobId: 'job-1', repo: 'acme/app', outcome: 'succeeded', dollars: 0.25, pullRequestUrl: 'http://github.local/acme/app/pull/9' });
    expect((await readRecentTasks(redis, prefix, 10)).map((s) => s.jobId)).toContain('job-1');
  });

  it('keeps the latest transcript entries and counts the rest', async () => {
    const rec = recorder(redis, prefix, 'job-long');
    const total = TRANSCRIPT_MAX_ENTRIES + 25;
    for (let i = 1; i <= total; i++) rec.toolResult({ name: 'read_file', arguments: { path: `f${i}` }, output: `entry ${i}` });
    rec.progress({ stage: 'failed', reason: 'step limit' });
    const record = await waitFor('the failed record', async () => {
      const r = await readTaskRecord(redis, prefix, 'job-long');
      return r?.summary.outcome === 'failed' ? r : undefined;
    }, 10_000);
    expect(record.transcript).toHaveLength(TRANSCRIPT_MAX_ENTRIES);
    expect(record.summary.transcriptEntries).toBe(total);
    expect(record.transcript.at(-1)).toMatchObject({ output: `entry ${total}` });
  });

  it('closes the record of a task its workers never finished (stalled), once', async () => {
    const rec = recorder(redis, prefix, 'job-stalled');
    rec.progress({ stage: 'working', step: 3 });
    await waitFor('the working record', async () => (await readTaskRecord(redis, prefix, 'job-stalled'))?.summary.stage === 'working', 10_000);

    expect(await closeTaskRecord(redis, prefix, 'job-stalled', 'workers kept dying')).toBe(true);
    expect(await closeTaskRecord(redis, prefix, 'job-stalled', 'again')).toBe(false);
    expect(await closeTaskRecord(redis, prefix, 'job-unknown', 'no record')).toBe(false);
    const record = await readTaskRecord(redis, prefix, 'job-stalled');
    expect(record?.summary).toMatchObject({ outcome: 'failed', stage: 'failed', reason: 'workers kept dying' });
    expect(record?.timeline.at(-1)?.stage).toBe('failed');
    expect((await readUsageRecords(redis, prefix, 0)).find((r) => r.jobId === 'job-stalled')?.outcome).toBe('failed');
  });

  it('never throws or waits when Redis is unreachable, and warns once', async () => {
    const port = await freePort();
    const down = new Redis({ host: '127.0.0.1', port, enableOfflineQueue: false, maxRetriesPerRequest: 0, retryStrategy: () => null });
    down.on('error', () => {});
    const warnings: string[] = [];
    const log = createLogger({ level: 'silent' });
    log.warn = ((_obj: unknown, msg?: string) => {
      warnings.push(msg ?? '');
    });
    const rec = recorder(down, prefix, 'job-down', log);
    rec.progress({ stage: 'working', step: 1 });
    rec.modelTurn({ model: 'gpt-5-codex', text: '', toolCalls: [], usage });
    rec.toolResult({ name: 'run_tests', arguments: {}, output: 'PASSED: npm test', testsPassed: true });
    rec.progress({ stage: 'done' });
    expect(rec.summary.outcome).toBe('succeeded');
    await waitFor('the warning', () => warnings.length > 0, 10_000);
    expect(warnings).toEqual(['could not record the task for the dashboard; the task goes on']);
    // It never connected: disconnect() would only arm a 2 s timer that holds the jest worker.
    expect(down.status).toBe('end');
  });
});
