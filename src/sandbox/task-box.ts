import { execFile } from 'node:child_process';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Readable, Writable } from 'node:stream';
import { promisify } from 'node:util';
import type { CommandResult } from './run-command.ts';
import { runSandboxed } from './run-sandboxed.ts';
import type { SandboxDirs, SandboxPolicy } from './sandbox-policy.ts';
import { leaseSandboxUser, type SandboxUser } from './sandbox-users.ts';
import { stopUserProcesses } from './stop-user-processes.ts';
import { startEgressProxy, type EgressProxy } from './egress-proxy.ts';

const FORWARDER = fileURLToPath(new URL('./egress-forwarder.cjs', import.meta.url));

const execFileAsync = promisify(execFile);

export interface BoxRunOptions {
  timeoutMs: number;
  signal?: AbortSignal;
  /** Bytes of output kept (head and tail). */
  outputLimit?: number;
  /** Raw bytes in and out (an archive), standard output capped at `maxOutputBytes`. */
  stdin?: Readable;
  stdout?: Writable;
  maxOutputBytes?: number;
}

/** One task's box: every command of the task runs here, as the task's user, and dies with its command. */
export interface TaskBox {
  readonly dirs: SandboxDirs;
  readonly mode: SandboxPolicy['mode'];
  /** Who owns what the box writes, when it is not the worker's own user. */
  readonly user?: { uid: number; gid: number };
  run(command: string, options: BoxRunOptions): Promise<CommandResult>;
  /**
   * Hosts the box's commands may reach from now on, through the worker's egress proxy (bwrap
   * only: without isolation the commands have the host's network anyway). None at first.
   */
  allowNetwork(hosts: readonly string[]): void;
  /** Hosts the box's commands tried to reach and were refused. */
  blockedHosts(): string[];
  /** Stops whatever is left and gives the task's user back. */
  close(): Promise<void>;
}

/**
 * Gives the box's user the directories it writes (and no other task's user a way in), lets it
 * pass through their parents, and read the ones it only reads. Links are changed themselves,
 * never followed.
 */
async function handOver(user: SandboxUser, dirs: SandboxDirs): Promise<void> {
  const writable = [dirs.workspace, dirs.home, dirs.gitDir];
  for (const parent of new Set([...writable, ...dirs.readOnly].map((dir) => path.dirname(dir)))) {
    const { mode } = await fs.stat(parent);
    await fs.chmod(parent, mode | 0o111);
  }
  await execFileAsync('chown', ['-R', '-P', '--no-dereference', `${user.uid}:${user.gid}`, '--', ...writable]);
  await Promise.all(writable.map((dir) => fs.chmod(dir, 0o700)));
  // What it only reads (and the directory holding it) is its group's alone: no other task's user gets in.
  for (const dir of dirs.readOnly) {
    await fs.chown(dir, process.getuid?.() ?? 0, user.gid);
    await fs.chmod(dir, 0o750);
    await fs.chown(path.dirname(dir), process.getuid?.() ?? 0, user.gid);
    await fs.chmod(path.dirname(dir), 0o710);
  }
}

export async function openTaskBox(policy: SandboxPolicy, dirs: SandboxDirs): Promise<TaskBox> {
  const user = await leaseSandboxUser(policy);
  try {
    if (user) await handOver(user, dirs);
  } catch (err) {
    await user?.release();
    throw err;
  }
  const owner = user ? { uid: user.uid, gid: user.gid } : undefined;
  let proxy: EgressProxy | undefined;
  let socketDir: string | undefined;
  try {
    // A short path (a Unix socket's is at most 107 bytes), which the box's user can pass through.
    if (policy.mode === 'bwrap') {
      socketDir = await fs.mkdtemp(path.join(os.tmpdir(), 'ai-fix-egress-'));
      await fs.chmod(socketDir, 0o711);
      proxy = await startEgressProxy(path.join(socketDir, 'p.sock'));
    }
  } catch (err) {
    if (socketDir) await fs.rm(socketDir, { recursive: true, force: true });
    await user?.release();
    throw err;
  }
  const egress = proxy && { socket: proxy.socketPath, node: await fs.realpath(process.execPath), forwarder: FORWARDER };
  return {
    dirs,
    mode: policy.mode,
    user: owner,
    allowNetwork: (hosts) => proxy?.allow(hosts),
    blockedHosts: () => proxy?.blocked() ?? [],
    async run(command, options) {
      try {
        return await runSandboxed(policy, command, { dirs, user: owner, egress, ...options });
      } finally {
        // In bwrap the pid namespace already ended; a task user's processes are found anywhere.
        if (owner) await stopUserProcesses(owner);
      }
    },
    async close() {
      if (owner) await stopUserProcesses(owner);
      await proxy?.close();
      if (socketDir) await fs.rm(socketDir, { recursive: true, force: true });
      await user?.release();
    },
  };
}
