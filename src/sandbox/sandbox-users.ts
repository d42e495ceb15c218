import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { isProcessAlive } from '../util/process-alive.ts';
import type { SandboxPolicy } from './sandbox-policy.ts';

// Leases live where every worker process that shares this kernel's process table sees them:
// a task's user must belong to one task at a time, or stopping its processes would stop another's.
const LEASES = path.join(os.tmpdir(), 'ai-fix-sandbox-users');

export interface SandboxUser {
  uid: number;
  gid: number;
  release(): Promise<void>;
}

async function tryLease(uid: number): Promise<boolean> {
  const lease = path.join(LEASES, String(uid));
  try {
    await fs.writeFile(lease, `${process.pid}\n`, { flag: 'wx', mode: 0o600 });
    return true;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
  }
  const owner = Number((await fs.readFile(lease, 'utf8').catch(() => '')).trim());
  // A lease being written has no pid yet; only a lease of a process that is gone is taken over.
  if (!Number.isInteger(owner) || owner <= 0 || isProcessAlive(owner)) return false;
  await fs.rm(lease, { force: true });
  return tryLease(uid);
}

/**
 * A user of the policy's range that no other running task holds, or undefined when the worker
 * is not root (commands then run as the worker's own user, kept apart by namespaces in bwrap).
 */
export async function leaseSandboxUser(policy: SandboxPolicy): Promise<SandboxUser | undefined> {
  if (!policy.users) return undefined;
  await fs.mkdir(LEASES, { recursive: true, mode: 0o700 });
  const { first, count } = policy.users;
  const start = Math.floor(Math.random() * count);
  for (let i = 0; i < count; i++) {
    const uid = first + ((start + i) % count);
    if (await tryLease(uid)) {
      return { uid, gid: uid, release: () => fs.rm(path.join(LEASES, String(uid)), { force: true }) };
    }
  }
  throw new Error(`all ${count} sandbox users (AI_FIX_SANDBOX_UID ${first} and up, AI_FIX_SANDBOX_UIDS) are in use; raise AI_FIX_SANDBOX_UIDS above the number of tasks this host runs at once`);
}
