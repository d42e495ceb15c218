import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { ConfigError } from '../util/errors.ts';
import type { Logger } from '../util/logger.ts';
import { hiddenPaths } from './hidden-paths.ts';
import type { ResourceLimits } from './resource-limits.ts';
import { sandboxUsers, type SandboxMode, type SandboxPolicy } from './sandbox-policy.ts';
import { openTaskBox } from './task-box.ts';

export interface SandboxSetup {
  /** AI_FIX_SANDBOX: `auto` is bwrap, and refuses to start where bwrap cannot work. */
  requested: SandboxMode | 'auto';
  limits: ResourceLimits;
  /** AI_FIX_SANDBOX_UID and AI_FIX_SANDBOX_UIDS: who commands run as when the worker is root. */
  users: { first: number; count: number };
  tmpBytes: number;
  /** AI_FIX_WORKDIR: job directories live under `<workdir>/jobs`. */
  workdir: string;
  privateKeyPath?: string;
  log: Logger;
}

/** Runs a command the way a task would, in a directory laid out like a job's; its failure, or null. */
async function tryPolicy(policy: SandboxPolicy, jobs: string): Promise<string | null> {
  const probeDir = await fs.mkdtemp(path.join(jobs, 'probe-'));
  try {
    const dirs = { workspace: path.join(probeDir, 'repo'), home: path.join(probeDir, 'home'), gitDir: path.join(probeDir, 'git'), readOnly: [] };
    await Promise.all([dirs.workspace, dirs.home, dirs.gitDir].map((dir) => fs.mkdir(dir)));
    const box = await openTaskBox(policy, dirs);
    try {
      const result = await box.run('touch probe && test -r "$HOME"', { timeoutMs: 30_000 });
      return result.exitCode === 0 ? null : result.output.trim() || `exit code ${result.exitCode}`;
    } finally {
      await box.close();
    }
  } finally {
    await fs.rm(probeDir, { recursive: true, force: true });
  }
}

/**
 * Decides the sandbox policy once at start and proves it works. Isolation fails closed: a
 * worker that cannot isolate stops here with one line, unless `none` was asked for by name.
 */
export async function startSandbox(setup: SandboxSetup): Promise<SandboxPolicy> {
  const users = sandboxUsers(setup.users.first, setup.users.count);
  const jobs = path.join(setup.workdir, 'jobs');
  await fs.mkdir(jobs, { recursive: true });
  if (users) {
    // The sandbox users only need to pass through to their own job directory, not to list others.
    for (const dir of [setup.workdir, jobs]) {
      const { mode } = await fs.stat(dir);
      await fs.chmod(dir, mode | 0o111);
    }
  }
  const none: SandboxPolicy = { mode: 'none', limits: setup.limits, users, hidden: [], tmpBytes: setup.tmpBytes };
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
    if (failure) {
      throw new ConfigError(
        `AI_FIX_SANDBOX: the agent's commands cannot be isolated here (bwrap: ${failure.split('\n')[0]}); install bubblewrap and allow user namespaces (see README, Security), or set AI_FIX_SANDBOX=none to run them unisolated on your own machine`,
      );
    }
    return ready(bwrap, setup.log);
  }
  const failure = await tryPolicy(none, jobs);
  if (failure) {
    const who = users ? `the sandbox users (uid ${users.first} and up)` : 'the sandbox';
    throw new ConfigError(`AI_FIX_WORKDIR: ${who} cannot work in ${setup.workdir} (${failure}); choose a directory every user can pass through, or run the worker as a non-root user`);
  }
  setup.log.warn(
    users
      ? 'AI_FIX_SANDBOX=none: the agent\'s commands run on this host without isolation (each task as its own user, with the network and a view of everything that user can read); use it only for your own repositories'
      : 'AI_FIX_SANDBOX=none: the agent\'s commands run on this host as this user, without isolation (network, files, and processes they leave behind); use it only for your own repositories',
  );
  return ready(none, setup.log);
}

function ready(policy: SandboxPolicy, log: Logger): SandboxPolicy {
  log.info({ mode: policy.mode, users: policy.users, limits: policy.limits, hidden: policy.hidden.map((h) => h.path) }, 'sandbox ready');
  return policy;
}
