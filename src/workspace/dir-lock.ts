import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { isProcessAlive } from '../util/process-alive.ts';

const OWNER = 'owner';

/** A lock left by a process of this host that is gone (a crash or a kill -9) may be taken over. */
async function isStale(lock: string): Promise<boolean> {
  const owner = await fs.readFile(path.join(lock, OWNER), 'utf8').catch(() => null);
  if (owner === null) {
    // Between mkdir and the owner file; only a lock that stays ownerless for long is stale.
    const since = (await fs.stat(lock).catch(() => null))?.mtimeMs;
    return since === undefined || Date.now() - since > 30_000;
  }
  const [host, pid] = owner.trim().split(' ');
  return host === os.hostname() && !isProcessAlive(Number(pid));
}

async function tryAcquire(lock: string): Promise<boolean> {
  try {
    await fs.mkdir(lock);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    if (!(await isStale(lock))) return false;
    await fs.rm(lock, { recursive: true, force: true });
    return tryAcquire(lock);
  }
  await fs.writeFile(path.join(lock, OWNER), `${os.hostname()} ${process.pid}\n`);
  return true;
}

/**
 * Runs `work` holding a lock directory (mkdir is atomic), across tasks and worker processes of
 * one host. With `wait: false` it returns undefined instead of waiting for a busy lock.
 */
export async function withDirLock<T>(lock: string, signal: AbortSignal | undefined, work: () => Promise<T>, options: { wait?: boolean } = {}): Promise<T | undefined> {
  while (!(await tryAcquire(lock))) {
    if (options.wait === false) return undefined;
    signal?.throwIfAborted();
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  try {
    return await work();
  } finally {
    await fs.rm(lock, { recursive: true, force: true });
  }
}
