import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { ConfigError } from '../util/errors.ts';
import type { Logger } from '../util/logger.ts';
import { handOverToSandbox } from './hand-over.ts';
import { hiddenPaths } from './hidden-paths.ts';
import type { ResourceLimits } from './resource-limits.ts';
import { runSandboxed } from './run-sandboxed.ts';
import { sandboxUser, type SandboxMode, type SandboxPolicy } from './sandbox-policy.ts';

export interface SandboxSetup {
  /** AI_FIX_SANDBOX: `auto` is bwrap when it works on this host, else none with a warning. */
  requested: SandboxMode | 'auto';
  limits: ResourceLimits;
  /** AI_FIX_SANDBOX_UID: who commands run as when the worker is root. */
  uid: number;
  /** AI_FIX_WORKDIR: job directories live under `<workdir>/jobs`. */
  workdir: string;
  privateKeyPath?: string;
  log: Logger;
}

/** Runs a command the way a task would, in a directory laid out like a job's; its failure, or null. */
async function tryPolicy(policy: SandboxPolicy, jobs: string): Promise<string | null> {
  const probeDir = await fs.mkdtemp(path.join(jobs, 'probe-'));
  try {
    const dirs = { workspace: path.join(probeDir, 'repo'), home: path.join(probeDir, 'home'), gitDir: path.join(probeDir, 'git') };
    await Promise.all(Object.values(dirs).map((dir) => fs.mkdir(dir)));
    await handOverToSandbox(policy, [dirs.workspace, dirs.home]);
    const result = await runSandboxed(policy, 'touch probe && test -r "$HOME"', { dirs, timeoutMs: 30_000 });
    return result.exitCode === 0 ? null : result.output.trim() || `exit code ${result.exitCode}`;
  } finally {
    await fs.rm(probeDir, { recursive: true, force: true });
  }
}

/**
 * Decides the sandbox policy once at start and proves it works. A worker that cannot run
 * commands as asked stops here with one line, instead of failing every task.
 */
export async function startSandbox(setup: SandboxSetup): Promise<SandboxPolicy> {
  const user = sandboxUser(setup.uid);
  const jobs = path.join(setup.workdir, 'jobs');
  await fs.mkdir(jobs, { recursive: true });
  if (user) {
    // The sandbox user only needs to pass through to its own job directory, not to list others.
    for (const dir of [setup.workdir, jobs]) {
      const { mode } = await fs.stat(dir);
      await fs.chmod(dir, mode | 0o111);
    }
  }
  const none: SandboxPolicy = { mode: 'none', limits: setup.limits, user, hidden: [] };
  if (setup.requested !== 'none') {
    const hidden = await hiddenPaths({
      workdir: setup.workdir,
      home: os.homedir(),
      cwd: process.cwd(),
      privateKeyPath: setup.privateKeyPath,
      pathEnv: process.env.PATH ?? '',
    });
    const bwrap: SandboxPolicy = { ...none, mode: 'bwrap', hidden };
    const failure = await tryPolicy(bwrap, jobs);
    if (!failure) return ready(bwrap, setup.log);
    if (setup.requested === 'bwrap') throw new ConfigError(`AI_FIX_SANDBOX: bwrap does not work on this host: ${failure.split('\n')[0]}`);
    setup.log.warn({ failure }, 'bwrap does not work on this host: agent commands run without isolation (no network or filesystem separation); install bubblewrap and allow user namespaces, or set AI_FIX_SANDBOX=none to silence this');
  }
  const failure = await tryPolicy(none, jobs);
  if (failure) {
    const who = user ? `the sandbox user (uid ${user.uid})` : 'the sandbox';
    throw new ConfigError(`AI_FIX_WORKDIR: ${who} cannot work in ${setup.workdir} (${failure}); choose a directory every user can pass through, or run the worker as a non-root user`);
  }
  return ready(none, setup.log);
}

function ready(policy: SandboxPolicy, log: Logger): SandboxPolicy {
  log.info({ mode: policy.mode, user: policy.user?.uid, limits: policy.limits, hidden: policy.hidden.map((h) => h.path) }, 'sandbox ready');
  return policy;
}
