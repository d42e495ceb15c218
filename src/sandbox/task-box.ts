import { execFile } from 'node:child_process';
import fs from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';
import type { CommandResult } from './run-command.ts';
import { runSandboxed } from './run-sandboxed.ts';
import type { SandboxDirs, SandboxPolicy } from './sandbox-policy.ts';
import { leaseSandboxUser, type SandboxUser } from './sandbox-users.ts';
import { stopUserProcesses } from './stop-user-processes.ts';

const execFileAsync = promisify(execFile);

export interface BoxRunOptions {
  timeoutMs: number;
  signal?: AbortSignal;
  /** Bytes of output kept (head and tail). */
  outputLimit?: number;
}

/** One task's box: every command of the task runs here, as the task's user, and dies with its command. */
export interface TaskBox {
  readonly dirs: SandboxDirs;
  readonly mode: SandboxPolicy['mode'];
  /** Who owns what the box writes, when it is not the worker's own user. */
  readonly user?: { uid: number; gid: number };
  run(command: string, options: BoxRunOptions): Promise<CommandResult>;
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
  for (const dir of dirs.readOnly) {
    await fs.chown(dir, process.getuid?.() ?? 0, user.gid);
    await fs.chmod(dir, 0o750);
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
  return {
    dirs,
    mode: policy.mode,
    user: owner,
    async run(command, options) {
      try {
        return await runSandboxed(policy, command, { dirs, user: owner, ...options });
      } finally {
        // In bwrap the pid namespace already ended; a task user's processes are found anywhere.
        if (owner) await stopUserProcesses(owner);
      }
    },
    async close() {
      if (owner) await stopUserProcesses(owner);
      await user?.release();
    },
  };
}
