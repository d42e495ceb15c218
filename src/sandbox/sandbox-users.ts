import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { DEFAULT_LEASE_TIMING, tryTakeLease, type LeaseTiming } from '../util/lease.ts';
import type { SandboxPolicy } from './sandbox-policy.ts';

// A task's user must belong to one task at a time, or stopping its processes would stop another's.
// Each is held by a lease its task refreshes; only a lease nobody refreshed for the TTL (its
// worker died) is taken over, so a user is never handed to two live tasks, whatever their PIDs.
const LEASES = path.join(os.tmpdir(), 'ai-fix-sandbox-users');

export interface SandboxUser {
  uid: number;
  gid: number;
  release(): Promise<void>;
}

/**
 * A user of the policy's range that no other running task holds, or undefined when the worker
 * is not root (commands then run as the worker's own user, kept apart by namespaces in bwrap).
 */
export async function leaseSandboxUser(policy: Pick<SandboxPolicy, 'users'>, timing: LeaseTiming = DEFAULT_LEASE_TIMING): Promise<SandboxUser | undefined> {
  if (!policy.users) return undefined;
  await fs.mkdir(LEASES, { recursive: true, mode: 0o700 });
  const { first, count } = policy.users;
  const start = Math.floor(Math.random() * count);
  for (let i = 0; i < count; i++) {
    const uid = first + ((start + i) % count);
    const lease = await tryTakeLease(path.join(LEASES, String(uid)), timing);
    if (lease) return { uid, gid: uid, release: () => lease.release() };
  }
  throw new Error(`all ${count} sandbox users (AI_FIX_SANDBOX_UID ${first} and up, AI_FIX_SANDBOX_UIDS) are in use; raise AI_FIX_SANDBOX_UIDS above the number of tasks this host runs at once`);
}
