import { afterAll, afterEach, beforeAll, describe, expect, it } from '@jest/globals';
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { leaseSandboxUser } from '../../src/sandbox/sandbox-users.ts';
import { isLeaseLive, tryTakeLease, type LeaseTiming } from '../../src/util/lease.ts';
import { createLogger } from '../../src/util/logger.ts';
import { leaseWorkdir, processWorkdir, removeOrphanWorkdirs, runFolder } from '../../src/worker/workdir.ts';
import { withDirLock } from '../../src/workspace/dir-lock.ts';
import { waitFor } from '../support/app-process.ts';
import { trackChild } from '../support/child-registry.ts';

const WORKDIR_MODULE = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../src/worker/workdir.ts');
// Short, so a stale lease takes a second rather than minutes; still well above the refresh.
const TIMING: LeaseTiming = { refreshMs: 50, ttlMs: 1000 };
const log = createLogger({ level: 'silent' });

/** Makes a lease look as if its holder stopped refreshing it an hour ago. */
async function ageLease(file: string): Promise<void> {
  const past = new Date(Date.now() - 3600_000);
  await fs.utimes(file, past, past);
}

async function exists(file: string): Promise<boolean> {
  return fs.access(file).then(() => true, () => false);
}

/**
 * A worker in a PID namespace of its own (as in another container on a shared volume): its pid
 * there means nothing here. It leases a worker directory and keeps a live task folder in it.
 */
async function startForeignWorker(root: string): Promise<{ child: ChildProcess; dir: string; pid: number }> {
  const dir = path.join(root, 'worker-foreign');
  const script = `
    const { leaseWorkdir } = await import(${JSON.stringify(WORKDIR_MODULE)});
    const fs = await import('node:fs/promises');
    const dir = ${JSON.stringify(dir)};
    await leaseWorkdir(dir, ${JSON.stringify(TIMING)});
    await fs.mkdir(dir + '/solve-r1-n1-d1-run-live', { recursive: true });
    await fs.writeFile(dir + '/solve-r1-n1-d1-run-live/file', 'work in progress');
    process.stdout.write('ready ' + process.pid + '\\n');
    setInterval(() => {}, 1000);
  `;
  const child = trackChild(spawn('bwrap', ['--unshare-pid', '--die-with-parent', '--dev-bind', '/', '/', process.execPath, '--input-type=module', '-e', script], { stdio: ['ignore', 'pipe', 'inherit'] }));
  let output = '';
  child.stdout?.setEncoding('utf8').on('data', (chunk: string) => (output += chunk));
  const pid = await waitFor('the foreign worker', () => {
    if (child.exitCode !== null) throw new Error(`the foreign worker exited: ${output}`);
    return /ready (\d+)/.exec(output)?.[1];
  }, 20_000, 20);
  return { child, dir, pid: Number(pid) };
}

describe('leases judged by heartbeat, not by PID', () => {
  let root: string;
  const children: ChildProcess[] = [];
  const releases: Array<() => Promise<void>> = [];

  beforeAll(async () => {
    root = await fs.mkdtemp(path.join(os.tmpdir(), 'ai-fix-leases-'));
  });

  afterEach(async () => {
    for (const child of children.splice(0)) if (child.exitCode === null) child.kill('SIGKILL');
    await Promise.all(releases.splice(0).map((release) => release()));
  });

  afterAll(async () => {
    await fs.rm(root, { recursive: true, force: true });
  });

  it('a starting worker keeps the live folders of a worker in another PID namespace, and removes them once its lease goes stale', async () => {
    const shared = await fs.mkdtemp(path.join(root, 'shared-'));
    const foreign = await startForeignWorker(shared);
    children.push(foreign.child);
    // Its pid, seen from here, is not the worker (another process or none): a PID check would have judged it wrongly.
    expect(foreign.pid).not.toBe(foreign.child.pid);
    const started = Date.now();

    const myDir = processWorkdir(shared);
    const mine = await leaseWorkdir(myDir, TIMING);
    releases.push(() => mine.release());
    // Past the TTL, so only the foreign worker's refreshes keep its lease live.
    await waitFor('a TTL to pass', () => Date.now() - started > TIMING.ttlMs * 1.5, 5000, 50);
    expect(await removeOrphanWorkdirs(shared, log, TIMING)).toBe(0);
    expect(await fs.readFile(path.join(foreign.dir, 'solve-r1-n1-d1-run-live/file'), 'utf8')).toBe('work in progress');

    const exited = new Promise((resolve) => foreign.child.once('exit', resolve));
    foreign.child.kill('SIGKILL');
    await exited;
    await waitFor('its lease to go stale', async () => !(await isLeaseLive(`${foreign.dir}.lease`, TIMING)), 10_000, 50);
    expect(await removeOrphanWorkdirs(shared, log, TIMING)).toBe(1);
    expect(await exists(foreign.dir)).toBe(false);
    expect(await exists(`${foreign.dir}.lease`)).toBe(false);
    // Its own directory, of course, stays.
    expect(await exists(myDir)).toBe(true);
  }, 30_000);

  it('a worker directory left by an older worker with no lease is removed; one whose lease was aged is too', async () => {
    const shared = await fs.mkdtemp(path.join(root, 'shared-'));
    const closed = processWorkdir(shared);
    await fs.mkdir(path.join(closed, 'job-run-1'), { recursive: true });
    const dead = await leaseWorkdir(processWorkdir(shared), TIMING);
    await dead.release();
    const crashed = await leaseWorkdir(processWorkdir(shared), { refreshMs: 3600_000, ttlMs: TIMING.ttlMs });
    await ageLease(crashed.file);
    expect(await removeOrphanWorkdirs(shared, log, TIMING)).toBe(3);
    expect(await fs.readdir(shared)).toEqual([]);
  });

  it('two runs of one job keep separate folders, so removing one leaves the other', async () => {
    const workdir = await fs.mkdtemp(path.join(root, 'runs-'));
    const first = runFolder(workdir, 'solve-r1-n7-d1');
    const second = runFolder(workdir, 'solve-r1-n7-d1');
    expect(first).not.toBe(second);
    expect(path.dirname(first)).toBe(workdir);
    await fs.mkdir(first);
    await fs.writeFile(path.join(first, 'file'), 'first run');
    await fs.mkdir(second);
    await fs.rm(second, { recursive: true, force: true });
    expect(await fs.readFile(path.join(first, 'file'), 'utf8')).toBe('first run');
  });

  it('a directory lock held by a live holder is not taken past the TTL; a stale one is', async () => {
    const lock = path.join(root, 'mirror.git.lock');
    let releaseHolder!: () => void;
    const holding = new Promise<void>((resolve) => (releaseHolder = resolve));
    let held!: () => void;
    const acquired = new Promise<void>((resolve) => (held = resolve));
    const holder = withDirLock(lock, undefined, async () => {
      held();
      await holding;
      return 'holder';
    }, { timing: TIMING });
    await acquired;
    const since = Date.now();
    await waitFor('a TTL to pass', () => Date.now() - since > TIMING.ttlMs * 1.5, 5000, 50);
    expect(await withDirLock(lock, undefined, async () => 'intruder', { wait: false, timing: TIMING })).toBeUndefined();
    releaseHolder();
    expect(await holder).toBe('holder');
    expect(await exists(lock)).toBe(false);

    // A holder that died: its lock file stays, unrefreshed.
    await fs.writeFile(lock, 'a-holder-that-died\n');
    await ageLease(lock);
    expect(await withDirLock(lock, undefined, async () => 'successor', { wait: false, timing: TIMING })).toBe('successor');
  }, 15_000);

  it('a sandbox user is never handed to two live tasks; a stale lease is taken over by exactly one of two', async () => {
    const users = { first: 990_000 + Math.floor(Math.random() * 9000), count: 1 };
    const leaseFile = path.join(os.tmpdir(), 'ai-fix-sandbox-users', String(users.first));
    const first = await leaseSandboxUser({ users }, TIMING);
    expect(first?.uid).toBe(users.first);
    const since = Date.now();
    await waitFor('a TTL to pass', () => Date.now() - since > TIMING.ttlMs * 1.5, 5000, 50);
    await expect(leaseSandboxUser({ users }, TIMING)).rejects.toThrow(/all 1 sandbox users .* are in use/);
    await first?.release();
    expect(await exists(leaseFile)).toBe(false);

    // A task whose worker died: its lease stays, unrefreshed. Two tasks start at once.
    await fs.writeFile(leaseFile, 'a-task-whose-worker-died\n');
    await ageLease(leaseFile);
    const results = await Promise.allSettled([leaseSandboxUser({ users }, TIMING), leaseSandboxUser({ users }, TIMING)]);
    const taken = results.filter((r) => r.status === 'fulfilled');
    expect(taken).toHaveLength(1);
    expect(results.filter((r) => r.status === 'rejected')).toHaveLength(1);
    await (taken[0] as PromiseFulfilledResult<Awaited<ReturnType<typeof leaseSandboxUser>>>).value?.release();
    expect(await exists(leaseFile)).toBe(false);
  }, 15_000);

  it('a lock whose holder in this PID namespace was killed is free at once, without waiting for the TTL', async () => {
    const lock = path.join(root, 'killed-holder.lock');
    const script = `
      const { tryTakeLease } = await import(${JSON.stringify(path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../src/util/lease.ts'))});
      if (!(await tryTakeLease(${JSON.stringify(lock)}))) process.exit(3);
      process.stdout.write('held\\n');
      setInterval(() => {}, 1000);
    `;
    const child = trackChild(spawn(process.execPath, ['--input-type=module', '-e', script], { stdio: ['ignore', 'pipe', 'inherit'] }));
    children.push(child);
    let output = '';
    child.stdout?.setEncoding('utf8').on('data', (chunk: string) => (output += chunk));
    await waitFor('the holder to take the lock', () => output.includes('held') || child.exitCode !== null, 20_000, 20);
    // Alive, and within the default two-minute TTL: the lock is held.
    expect(await isLeaseLive(lock)).toBe(true);
    child.kill('SIGKILL');
    await new Promise((resolve) => child.once('exit', resolve));
    expect(await isLeaseLive(lock)).toBe(false);
    const taken = await tryTakeLease(lock);
    expect(taken).toBeDefined();
    await taken?.release();
  });
});
