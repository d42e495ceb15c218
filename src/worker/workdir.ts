import crypto from 'node:crypto';
import fs from 'node:fs/promises';
import path from 'node:path';
import { DEFAULT_LEASE_TIMING, isLeaseLive, reapStaleLease, tryTakeLease, type Lease, type LeaseTiming } from '../util/lease.ts';
import type { Logger } from '../util/logger.ts';

// Each worker process keeps its checkouts under a directory of its own, named at random and held
// by a lease file beside it (`worker-<id>.lease`). Workers sharing a work dir, on one host or in
// containers sharing a volume, remove only directories whose lease stopped being refreshed.
const PREFIX = 'worker-';
const LEASE = '.lease';

function leaseFile(dir: string): string {
  return `${dir}${LEASE}`;
}

export function processWorkdir(root: string): string {
  return path.join(root, `${PREFIX}${crypto.randomUUID()}`);
}

/** Each run of a task gets a folder of its own, so a second run of one job never removes the first's. */
export function runFolder(workdir: string, jobId: string): string {
  return path.join(workdir, `${jobId}-run-${crypto.randomUUID().slice(0, 8)}`);
}

/** Creates the worker's directory and holds its lease while the worker runs. */
export async function leaseWorkdir(dir: string, timing: LeaseTiming = DEFAULT_LEASE_TIMING): Promise<Lease> {
  await fs.mkdir(path.dirname(dir), { recursive: true });
  const lease = await tryTakeLease(leaseFile(dir), timing);
  if (!lease) throw new Error(`the worker directory ${dir} is held by another worker`);
  await fs.mkdir(dir, { recursive: true });
  return lease;
}

/** Removes the directories of workers that stopped refreshing their lease (a crash or a kill -9). */
export async function removeOrphanWorkdirs(root: string, log: Logger, timing: LeaseTiming = DEFAULT_LEASE_TIMING): Promise<number> {
  const entries = await fs.readdir(root).catch(() => [] as string[]);
  const names = new Set(entries.filter((e) => e.startsWith(PREFIX)).map((e) => (e.endsWith(LEASE) ? e.slice(0, -LEASE.length) : e)));
  let removed = 0;
  for (const name of names) {
    const dir = path.join(root, name);
    // A lease refreshed within the TTL, or one that could not be reaped, belongs to a live worker.
    if ((await isLeaseLive(leaseFile(dir), timing)) || !(await reapStaleLease(leaseFile(dir), timing))) continue;
    await fs.rm(dir, { recursive: true, force: true });
    removed++;
  }
  if (removed) log.info({ removed }, 'removed workspaces left by stopped workers');
  return removed;
}
