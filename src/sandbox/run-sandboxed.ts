import os from 'node:os';
import type { Readable, Writable } from 'node:stream';
import { bwrapArgs, type EgressMounts } from './bwrap-args.ts';
import { limitedShell } from './resource-limits.ts';
import { runProcess, type CommandResult } from './run-command.ts';
import { sandboxEnv } from './sandbox-env.ts';
import { EGRESS_DIR, EGRESS_PORT, type SandboxDirs, type SandboxPolicy } from './sandbox-policy.ts';

export interface SandboxRun {
  dirs: SandboxDirs;
  timeoutMs: number;
  /** The task's own user, when the worker is root. */
  user?: { uid: number; gid: number };
  signal?: AbortSignal;
  outputLimit?: number;
  maxOutputBytes?: number;
  /** bwrap only: the way out through the worker's egress proxy. */
  egress?: EgressMounts;
  stdin?: Readable;
  stdout?: Writable;
}

/** Starts the relay to the egress proxy on the box's loopback, and waits until it listens. */
function withEgressRelay(command: string, dir: string): string {
  const relay = `'${dir}/node' '${dir}/egress-forwarder.cjs' '${dir}/egress.sock' ${EGRESS_PORT} </dev/null >/dev/null 2>&1 &`;
  const ready = `for _ in $(seq 100); do (exec 3<>/dev/tcp/127.0.0.1/${EGRESS_PORT}) 2>/dev/null && break; sleep 0.02; done`;
  return `${relay}\n${ready}\n${command}`;
}

/**
 * Runs one command under the policy: scrubbed environment, limits, the task's own user, and in
 * bwrap mode its own namespaces.
 */
export function runSandboxed(policy: SandboxPolicy, command: string, run: SandboxRun): Promise<CommandResult> {
  // A process cannot use more CPU than the wall-clock limit allows on every core.
  const cpuSeconds = (run.timeoutMs / 1000) * os.availableParallelism();
  const egress = policy.mode === 'bwrap' ? run.egress : undefined;
  const shell = limitedShell(egress ? withEgressRelay(command, EGRESS_DIR) : command, policy.limits, cpuSeconds);
  return runProcess(policy.mode === 'bwrap' ? [...bwrapArgs(run.dirs, policy, egress), ...shell] : shell, {
    cwd: run.dirs.workspace,
    env: sandboxEnv(run.dirs.home, policy.env, egress ? `http://127.0.0.1:${EGRESS_PORT}` : undefined),
    timeoutMs: run.timeoutMs,
    signal: run.signal,
    outputLimit: run.outputLimit,
    maxOutputBytes: run.maxOutputBytes,
    user: run.user,
    stdin: run.stdin,
    stdout: run.stdout,
  });
}
