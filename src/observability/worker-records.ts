import os from 'node:os';
import type { Redis } from 'ioredis';

/** What a running worker says about itself, for `ai-fix status`: how it isolates and what it can build. */
export interface WorkerRecord {
  worker: string;
  concurrency: number;
  sandbox: string;
  toolchains: Record<string, string>;
  networkAllow: string[];
  startedAt: string;
}

const TTL_SECONDS = 120;
const workerKey = (prefix: string, worker: string) => `${prefix}:workers:${worker}`;

/** Keeps this worker's record fresh while it runs (it lapses within two minutes of a crash). */
export async function announceWorker(redis: Redis, prefix: string, record: Omit<WorkerRecord, 'worker' | 'startedAt'>): Promise<{ close(): Promise<void> }> {
  const worker = `${os.hostname()}-${process.pid}`;
  const body = JSON.stringify({ ...record, worker, startedAt: new Date().toISOString() });
  const write = () => redis.set(workerKey(prefix, worker), body, 'EX', TTL_SECONDS);
  await write();
  const timer = setInterval(() => void write().catch(() => {}), (TTL_SECONDS / 2) * 1000);
  timer.unref();
  return {
    async close() {
      clearInterval(timer);
      await redis.del(workerKey(prefix, worker)).catch(() => {});
    },
  };
}

export async function readWorkers(redis: Redis, prefix: string): Promise<WorkerRecord[]> {
  const keys: string[] = [];
  let cursor = '0';
  do {
    const [next, found] = await redis.scan(cursor, 'MATCH', workerKey(prefix, '*'), 'COUNT', 200);
    cursor = next;
    keys.push(...found);
  } while (cursor !== '0');
  if (!keys.length) return [];
  const values = await redis.mget(keys);
  return values.flatMap((value) => (value ? [JSON.parse(value) as WorkerRecord] : [])).sort((a, b) => a.worker.localeCompare(b.worker));
}
