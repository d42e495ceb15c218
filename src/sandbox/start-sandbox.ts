import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { ConfigError } from '../util/errors.ts';
import type { Logger } from '../util/logger.ts';
import { hiddenPaths } from './hidden-paths.ts';
import type { ResourceLimits } from './resource-limits.ts';
import { operatorAllowList } from './network-policy.ts';
import { parseToolchainProbe, toolchainProbeScript, toolchainView } from './toolchains.ts';
import { sandboxUsers, type SandboxMode, type SandboxPolicy } from './sandbox-policy.ts';
import { openTaskBox } from './task-box.ts';

export interface SandboxSetup {
  /** AI_FIX_SANDBOX: `auto` is bwrap, and refuses to start where bwrap cannot work. */
  requested: SandboxMode | 'auto';
  limits: ResourceLimits;
  /** AI_FIX_SANDBOX_UID and AI_FIX_SANDBOX_UIDS: who commands run as when the worker is root. */
  users: { first: number; count: number };
  tmpBytes: number;
  /** AI_FIX_SANDBOX_ENV: more variables passed by name. */
  passEnv?: string[];
  /** AI_FIX_SANDBOX_TOOLCHAINS: more host directories shown read-only. */
  toolchainPaths?: string[];
  /** AI_FIX_NETWORK_ALLOW as given. */
  networkAllow?: string;
  /** AI_FIX_WORKDIR: job directories live under `<workdir>/jobs`. */
  workdir: string;
  privateKeyPath?: string;
  log: Logger;
}

/**
 * Runs commands the way a task would, in a directory laid out like a job's: its failure, or the
 * toolchains the box finds.
 */
async function tryPolicy(policy: SandboxPolicy, jobs: string): Promise<{ failure: string } | { toolchains: Record<string, string> }> {
  const probeDir = await fs.mkdtemp(path.join(jobs, 'probe-'));
  try {
    const dirs = { workspace: path.join(probeDir, 'repo'), home: path.join(probeDir, 'home'), gitDir: path.join(probeDir, 'git'), readOnly: [] };
    await Promise.all([dirs.workspace, dirs.home, dirs.gitDir].map((dir) => fs.mkdir(dir)));
    const box = await openTaskBox(policy, dirs);
    try {
      const result = await box.run('touch probe && test -r "$HOME"', { timeoutMs: 30_000 });
      if (result.exitCode !== 0) return { failure: result.output.trim() || `exit code ${result.exitCode}` };
      return { toolchains: parseToolchainProbe((await box.run(toolchainProbeScript(), { timeoutMs: 60_000 })).output) };
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
    // The caches hold every repository's code and packages: the worker's alone.
    for (const cache of ['mirrors', 'dependency-cache']) {
      await fs.mkdir(path.join(setup.workdir, cache), { recursive: true, mode: 0o700 });
      await fs.chmod(path.join(setup.workdir, cache), 0o700);
    }
  }
  const view = await toolchainView({ env: process.env, home: os.homedir(), extraPaths: setup.toolchainPaths, passEnv: setup.passEnv, otherUsers: users !== undefined });
  if (view.unreachable.length) {
    setup.log.warn(
      { unreachable: view.unreachable },
      'toolchains the sandbox users cannot reach are left out (a directory on the way, such as a 0700 home, is closed to them): install them system-wide, or allow passing through (chmod o+x) the directories on the way',
    );
  }
  const none: SandboxPolicy = { mode: 'none', limits: setup.limits, users, hidden: [], tmpBytes: setup.tmpBytes, exposed: [], env: view.env, toolchains: {}, networkAllow: [] };
  if (setup.requested !== 'none') {
    const hidden = await hiddenPaths({
      workdir: setup.workdir,
      home: os.homedir(),
      cwd: process.cwd(),
      privateKeyPath: setup.privateKeyPath,
    });
    const bwrap: SandboxPolicy = { ...none, mode: 'bwrap', hidden, exposed: view.exposed, networkAllow: await operatorAllowList(setup.networkAllow) };
    const tried = await tryPolicy(bwrap, jobs);
    if ('failure' in tried) {
      throw new ConfigError(
        `AI_FIX_SANDBOX: the agent's commands cannot be isolated here (bwrap: ${tried.failure.split('\n')[0]}); install bubblewrap and allow user namespaces (see README, Security), or set AI_FIX_SANDBOX=none to run them unisolated on your own machine`,
      );
    }
    return ready({ ...bwrap, toolchains: tried.toolchains }, setup.log);
  }
  const tried = await tryPolicy(none, jobs);
  if ('failure' in tried) {
    const who = users ? `the sandbox users (uid ${users.first} and up)` : 'the sandbox';
    throw new ConfigError(`AI_FIX_WORKDIR: ${who} cannot work in ${setup.workdir} (${tried.failure}); choose a directory every user can pass through, or run the worker as a non-root user`);
  }
  setup.log.warn(
    users
      ? 'AI_FIX_SANDBOX=none: the agent\'s commands run on this host without isolation (each task as its own user, with the network and a view of everything that user can read); use it only for your own repositories'
      : 'AI_FIX_SANDBOX=none: the agent\'s commands run on this host as this user, without isolation (network, files, and processes they leave behind); use it only for your own repositories',
  );
  return ready({ ...none, toolchains: tried.toolchains }, setup.log);
}

function ready(policy: SandboxPolicy, log: Logger): SandboxPolicy {
  log.info({ mode: policy.mode, users: policy.users, limits: policy.limits, hidden: policy.hidden.map((h) => h.path), exposed: policy.exposed, toolchains: policy.toolchains, networkAllow: policy.networkAllow }, 'sandbox ready');
  return policy;
}
