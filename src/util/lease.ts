import crypto from 'node:crypto';
import fs from 'node:fs/promises';

// A lease is a file whose modification time its holder refreshes on a timer. Whether its holder
// lives is judged by that heartbeat: processes in other PID namespaces (containers sharing a
// volume) would fool a PID check. Only a holder in this very PID namespace of this very kernel
// (its boot id and namespace recorded in the file) is also judged by its PID, so a killed
// worker's locks are free at once rather than after the TTL; a reused PID only errs towards live.

/** How often a holder refreshes its lease, and how long a lease nobody refreshes stays taken. */
export interface LeaseTiming {
  refreshMs: number;
  ttlMs: number;
}

// The TTL stays far above the refresh period, so a busy event loop never looks like a dead holder.
export const DEFAULT_LEASE_TIMING: LeaseTiming = { refreshMs: 10_000, ttlMs: 120_000 };

export interface Lease {
  readonly file: string;
  /** Random per lease: tells this holder's file from a successor's. */
  readonly owner: string;
  /** Stops the heartbeat and removes the file, unless another holder took it over meanwhile. */
  release(): Promise<void>;
}

function code(err: unknown): string | undefined {
  return (err as NodeJS.ErrnoException).code;
}

/** This kernel's boot and this process's PID namespace; empty where /proc does not tell. */
const here: Promise<string> = Promise.all([
  fs.readFile('/proc/sys/kernel/random/boot_id', 'utf8').then((id) => id.trim()),
  fs.readlink('/proc/self/ns/pid'),
]).then(([boot, namespace]) => `${boot}/${namespace}`, () => '');

/** The holder is a process of this PID namespace that no longer exists. */
async function holderGone(file: string): Promise<boolean> {
  const [, where, pid] = (await fs.readFile(file, 'utf8').catch(() => '')).trim().split(' ');
  const local = await here;
  if (!local || where !== local || !pid) return false;
  try {
    process.kill(Number(pid), 0);
    return false;
  } catch (err) {
    return code(err) === 'ESRCH';
  }
}

async function create(file: string, owner: string): Promise<boolean> {
  try {
    await fs.writeFile(file, `${owner} ${(await here) || '-'} ${process.pid}\n`, { flag: 'wx', mode: 0o600 });
    return true;
  } catch (err) {
    if (code(err) === 'EEXIST') return false;
    throw err;
  }
}

function hold(file: string, owner: string, timing: LeaseTiming): Lease {
  const timer = setInterval(() => {
    const now = new Date();
    fs.utimes(file, now, now).catch(() => {});
  }, timing.refreshMs);
  timer.unref();
  return {
    file,
    owner,
    async release() {
      clearInterval(timer);
      const current = await fs.readFile(file, 'utf8').catch(() => '');
      if (current.split(' ')[0]?.trim() === owner) await fs.rm(file, { force: true });
    },
  };
}

/** Whether someone refreshed the lease within the TTL, and its holder is not known to be gone. */
export async function isLeaseLive(file: string, timing: LeaseTiming = DEFAULT_LEASE_TIMING): Promise<boolean> {
  const stat = await fs.stat(file).catch(() => undefined);
  return stat !== undefined && Date.now() - stat.mtimeMs < timing.ttlMs && !(await holderGone(file));
}

/**
 * Removes a lease nobody refreshed within the TTL and answers whether the file is gone. The
 * stale file is first moved aside (atomic, so of two reapers only one gets it) and checked to be
 * the one judged stale; one refreshed or replaced in between is put back.
 */
export async function reapStaleLease(file: string, timing: LeaseTiming = DEFAULT_LEASE_TIMING): Promise<boolean> {
  const before = await fs.stat(file).catch(() => undefined);
  if (!before) return true;
  if (Date.now() - before.mtimeMs < timing.ttlMs && !(await holderGone(file))) return false;
  const aside = `${file}.reaped-${crypto.randomUUID()}`;
  try {
    await fs.rename(file, aside);
  } catch (err) {
    if (code(err) === 'ENOENT') return true;
    throw err;
  }
  const moved = await fs.stat(aside);
  const same = moved.ino === before.ino && moved.mtimeMs === before.mtimeMs;
  if (!same) await fs.link(aside, file).catch(() => {});
  await fs.rm(aside, { recursive: true, force: true });
  return same;
}

/** Takes the lease at `file` if it is free or stale, and keeps it refreshed until released. */
export async function tryTakeLease(file: string, timing: LeaseTiming = DEFAULT_LEASE_TIMING): Promise<Lease | undefined> {
  const owner = crypto.randomUUID();
  if (await create(file, owner)) return hold(file, owner, timing);
  if (!(await reapStaleLease(file, timing))) return undefined;
  return (await create(file, owner)) ? hold(file, owner, timing) : undefined;
}
