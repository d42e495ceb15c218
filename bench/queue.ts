// Part "queue": BullMQ as ai-fix configures it (src/queue/task-queue.ts job options, the worker's
// lock settings): enqueue → processor start latency at rest and beside a 10k-job backlog, and
// how many no-op jobs a worker pool drains per second.
import fs from 'node:fs/promises';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { Worker, type Job } from 'bullmq';
import { redisOptions } from '../src/queue/redis-connection.ts';
import { createTaskQueue, TASK_QUEUE_NAME, type TaskQueue } from '../src/queue/task-queue.ts';
import type { TaskRequest } from '../src/queue/task-request.ts';
import { connectTestRedis, deletePrefix, TEST_REDIS_URL, uniquePrefix } from '../test/support/redis.ts';
import { writeBenchmarkSection } from './benchmarks-doc.ts';
import { describeMachine } from './machine.ts';
import { round, summarize, type Summary } from './stats.ts';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const LOCK_MS = 60_000;

// The fields a solve task carries, so each job is as large as a real one in Redis.
const payload = (i: number) =>
  ({ kind: 'solve', repo: { id: 1, owner: 'acme', name: 'calculator' }, issueNumber: i, installationId: 1, trigger: { deliveryId: `bench-${i}`, sender: 'maintainer' }, options: {} }) as unknown as TaskRequest;

function startWorkers(prefix: string, count: number, concurrency: number, onStart: (job: Job) => void): Worker[] {
  return Array.from({ length: count }, () => {
    const worker = new Worker(TASK_QUEUE_NAME, async (job) => onStart(job), {
      connection: redisOptions(TEST_REDIS_URL),
      prefix,
      concurrency,
      lockDuration: LOCK_MS,
      stalledInterval: LOCK_MS / 2,
      maxStalledCount: 10,
    });
    worker.on('error', () => {});
    return worker;
  });
}

/** Enqueues probe jobs one at a time and times each until its processor starts. */
async function probeLatency(queue: TaskQueue, prefix: string, probes: number, phase: string): Promise<number[]> {
  const started = new Map<string, (at: number) => void>();
  const [worker] = startWorkers(prefix, 1, 2, (job) => started.get(job.id ?? '')?.(performance.now()));
  await worker!.waitUntilReady();
  const latencies: number[] = [];
  for (let i = 0; i < probes; i++) {
    const id = `probe-${phase}-${i}`;
    const seen = new Promise<number>((resolve) => started.set(id, resolve));
    const at = performance.now();
    await queue.add('solve', payload(i), { jobId: id });
    latencies.push((await seen) - at);
  }
  await worker!.close();
  return latencies;
}

async function drainRate(queue: TaskQueue, prefix: string, jobs: number, workers: number, concurrency: number): Promise<number> {
  const batch = Array.from({ length: jobs }, (_, i) => ({ name: 'solve', data: payload(i), opts: { jobId: `drain-${workers}x${concurrency}-${i}` } }));
  for (let i = 0; i < batch.length; i += 1000) await queue.addBulk(batch.slice(i, i + 1000));
  let done = 0;
  let finish: () => void = () => {};
  const finished = new Promise<void>((resolve) => (finish = resolve));
  const started = performance.now();
  const pool = startWorkers(prefix, workers, concurrency, () => {});
  for (const worker of pool) worker.on('completed', () => ++done === jobs && finish());
  await finished;
  const seconds = (performance.now() - started) / 1000;
  await Promise.all(pool.map((worker) => worker.close()));
  return jobs / seconds;
}

const ms = (s: Summary) => `p50 ${s.p50.toFixed(2)} · p95 ${s.p95.toFixed(2)} · p99 ${s.p99.toFixed(2)} · max ${s.max.toFixed(2)}`;

export async function runQueueBench(options: Map<string, string>): Promise<boolean> {
  const probes = Number(options.get('probes') ?? 300);
  const backlog = Number(options.get('backlog') ?? 10_000);
  const drainJobs = Number(options.get('drain') ?? 5_000);
  const command = `npm run bench -- queue${options.size ? ` ${[...options].map(([k, v]) => `--${k} ${v}`).join(' ')}` : ''}`;
  const redis = await connectTestRedis();
  const prefix = uniquePrefix('bench-queue');
  const queue = createTaskQueue(redisOptions(TEST_REDIS_URL), prefix);
  try {
    const atRest = summarize(await probeLatency(queue, prefix, probes, 'rest'));
    // The backlog: tasks scheduled for later (revisions and CI retries are delayed jobs) plus as
    // many finished ones as the queue keeps, so every key BullMQ touches is large.
    const delayed = Array.from({ length: backlog }, (_, i) => ({ name: 'solve', data: payload(i), opts: { jobId: `backlog-${i}`, delay: 3_600_000 } }));
    for (let i = 0; i < delayed.length; i += 1000) await queue.addBulk(delayed.slice(i, i + 1000));
    const underBacklog = summarize(await probeLatency(queue, prefix, probes, 'backlog'));
    const counts = await queue.getJobCounts('delayed', 'completed');
    await queue.obliterate({ force: true });
    const pools: Array<[number, number]> = [[1, 1], [1, 8], [2, 8], [4, 16]];
    const drain: Record<string, number> = {};
    for (const [workers, concurrency] of pools) drain[`${workers}×${concurrency}`] = round(await drainRate(queue, prefix, drainJobs, workers, concurrency), 0);

    const machine = describeMachine();
    const result = { command, date: new Date().toISOString(), machine, probes, backlog: counts, latencyMs: { atRest, underBacklog }, ratios: { p99BacklogOverRest: round(underBacklog.p99 / atRest.p99) }, drainJobsPerSecond: drain };
    await fs.mkdir(path.join(ROOT, 'bench/results'), { recursive: true });
    await fs.writeFile(path.join(ROOT, 'bench/results/queue.json'), `${JSON.stringify(result, null, 2)}\n`);
    const markdown = [
      '## Queue: BullMQ with the project\'s options',
      '',
      `Command: \`${command}\` · measured ${result.date.slice(0, 10)} on ${machine}; Redis on the same machine.`,
      '',
      `Enqueue → processor start: ${probes} jobs added one at a time (the job options of \`createTaskQueue\`, a solve task's payload), each timed from \`add()\` to its processor's first line, by a worker with the lock settings of \`startWorker\`.`,
      `"Under a backlog" adds ${counts.delayed?.toLocaleString('en-US')} delayed jobs (revisions and retries wait as delayed jobs) beside ${counts.completed?.toLocaleString('en-US')} kept completed ones.`,
      '',
      '| | latency, ms |',
      '| --- | --- |',
      `| at rest | ${ms(atRest)} |`,
      `| under the backlog | ${ms(underBacklog)} |`,
      '',
      `Ratio, p99 under the backlog ÷ at rest: **${result.ratios.p99BacklogOverRest}×**. Waiting jobs are taken in order, so a task behind N waiting ones starts after N ÷ (drain rate) plus the tasks' own run time.`,
      '',
      `Drain rate: ${drainJobs.toLocaleString('en-US')} waiting jobs, no-op processor, Worker instances × concurrency each (one process):`,
      '',
      '| pool | jobs/s |',
      '| --- | --- |',
      ...Object.entries(drain).map(([pool, rate]) => `| ${pool} | ${rate.toLocaleString('en-US')} |`),
      '',
      'Raw figures: [`bench/results/queue.json`](../bench/results/queue.json).',
    ].join('\n');
    await writeBenchmarkSection(ROOT, 'queue', markdown);
    process.stdout.write(`${markdown}\n`);
    return true;
  } finally {
    await queue.obliterate({ force: true }).catch(() => {});
    await queue.close();
    await deletePrefix(redis, prefix);
    redis.disconnect();
  }
}
