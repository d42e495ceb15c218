import fs from 'node:fs/promises';
import path from 'node:path';
import { git, gitWithRetry, retryTransient } from './git.ts';
import { cloneThroughMirror, type MirrorCache } from './mirror-cache.ts';

export interface WorkspaceSpec {
  /** Parent directory for this job's files. */
  jobDir: string;
  cloneUrl: string;
  defaultBranch: string;
  branch: string;
  token: string;
  committer: { name: string; email: string };
  signal?: AbortSignal;
  /** The worker's per-repository mirrors; without it every preparation clones over the network. */
  mirrors?: MirrorCache;
}

export interface Workspace {
  /** The checkout the agent works in. */
  dir: string;
  /**
   * The repository metadata, outside the checkout: the worker's git commands name it
   * explicitly, and the sandbox sees it read-only (or not at all).
   */
  gitDir: string;
  /** A scratch HOME/TMPDIR for the agent's commands, outside the checkout. */
  home: string;
  branch: string;
  /** The commit the branch started from in this run; the diff is measured against it. */
  baseSha: string;
  /** True when the branch already existed on the remote (a rerun continues it). */
  continued: boolean;
}

/** Clones the repository and checks out the task branch, continuing it if it already exists. */
export async function prepareWorkspace(spec: WorkspaceSpec): Promise<Workspace> {
  const dir = path.join(spec.jobDir, 'repo');
  const gitDir = path.join(spec.jobDir, 'git');
  const home = path.join(spec.jobDir, 'home');
  await fs.rm(spec.jobDir, { recursive: true, force: true });
  await fs.mkdir(home, { recursive: true });
  const auth = { token: spec.token, signal: spec.signal };
  if (spec.mirrors) {
    await cloneThroughMirror(spec.mirrors, { cloneUrl: spec.cloneUrl, branch: spec.defaultBranch, token: spec.token, gitDir, dir, signal: spec.signal });
  } else await retryTransient(async () => {
    // A failed clone leaves a partial directory behind.
    await fs.rm(dir, { recursive: true, force: true });
    await fs.rm(gitDir, { recursive: true, force: true });
    return git(['clone', '--no-tags', '--single-branch', '--separate-git-dir', gitDir, '--branch', spec.defaultBranch, spec.cloneUrl, dir], auth);
  }, spec.signal);
  const repo = { cwd: dir, gitDir };
  const remoteBranch = await gitWithRetry(['ls-remote', '--heads', spec.cloneUrl, `refs/heads/${spec.branch}`], { ...auth, ...repo });
  const continued = remoteBranch.trim().length > 0;
  if (continued) {
    await gitWithRetry(['fetch', '--no-tags', spec.cloneUrl, `+refs/heads/${spec.branch}:refs/remotes/origin/${spec.branch}`], { ...auth, ...repo });
    await git(['checkout', '-B', spec.branch, `origin/${spec.branch}`], repo);
  } else {
    await git(['checkout', '-B', spec.branch], repo);
  }
  await git(['config', 'user.name', spec.committer.name], repo);
  await git(['config', 'user.email', spec.committer.email], repo);
  const baseSha = (await git(['rev-parse', 'HEAD'], repo)).trim();
  return { dir, gitDir, home, branch: spec.branch, baseSha, continued };
}
