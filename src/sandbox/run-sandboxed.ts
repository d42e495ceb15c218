import os from 'node:os';
import { bwrapArgs } from './bwrap-args.ts';
import { limitedShell } from './resource-limits.ts';
import { runProcess, type CommandResult } from './run-command.ts';
import { sandboxEnv } from './sandbox-env.ts';
import type { SandboxDirs, SandboxPolicy } from './sandbox-policy.ts';

export interface SandboxRun {
  dirs: SandboxDirs;
  timeoutMs: number;
  /** The task's own user, when the worker is root. */
  user?: { uid: number; gid: number };
  signal?: AbortSignal;
  outputLimit?: number;
  maxOutputBytes?: number;
}

/**
 * Runs one command under the policy: scrubbed environment, limits, the task's own user, and in
 * bwrap mode its own namespaces.
 */
export function runSandboxed(policy: SandboxPolicy, command: string, run: SandboxRun): Promise<CommandResult> {
  // A process cannot use more CPU than the wall-clock limit allows on every core.
  const cpuSeconds = (run.timeoutMs / 1000) * os.availableParallelism();
  const shell = limitedShell(command, policy.limits, cpuSeconds);
  return runProcess(policy.mode === 'bwrap' ? [...bwrapArgs(run.dirs, policy), ...shell] : shell, {
    cwd: run.dirs.workspace,
    env: sandboxEnv(run.dirs.home),
    timeoutMs: run.timeoutMs,
    signal: run.signal,
    outputLimit: run.outputLimit,
    maxOutputBytes: run.maxOutputBytes,
    user: run.user,
  });
}
