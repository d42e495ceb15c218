import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { git, GitError, gitWithRetry, retryTransient, type GitOptions } from './git.ts';
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
  /**
   * Where an earlier run of the task started (its checkpoint applies there). Used when it is still
   * where the task would start, or, for a new branch, an older commit of the base branch.
   */
  resumeAt?: string;
}

/** The box's side of a task: what the agent may write. */
export interface BoxCheckout {
  /** The checkout the agent works in. */
  dir: string;
  /** Its repository metadata (objects borrowed read-only from the host repository). */
  gitDir: string;
  /** A scratch HOME/TMPDIR for the agent's commands. */
  home: string;
}

export interface Workspace {
  jobDir: string;
  /**
   * The host's own bare repository of the task: fetched with the token, never mounted into the
   * box, never pointed at a tree the agent wrote. Verification and publishing happen here.
   */
  hostGitDir: string;
  /** Its objects: what the box reads (never writes) to share history without a second copy. */
  objects: string;
  box: BoxCheckout;
  branch: string;
  /** The commit the box started from in this run; the change is measured against it. */
  baseSha: string;
  /** True when the branch already existed on the remote (a rerun continues it). */
  continued: boolean;
  committer: { name: string; email: string };
}

/** A directory for the host's own files of the task (the patch, its index, commit messages): no box user reads it. */
export async function hostScratch(workspace: Pick<Workspace, 'jobDir'>): Promise<string> {
  const dir = path.join(workspace.jobDir, 'host');
  await fs.mkdir(dir, { recursive: true, mode: 0o700 });
  return dir;
}

export function hostGit(workspace: Pick<Workspace, 'hostGitDir'>, args: string[], options: Omit<GitOptions, 'cwd' | 'gitDir'> = {}): Promise<string> {
  return git([`--git-dir=${workspace.hostGitDir}`, ...args], options);
}

/** True when `ancestor` is reachable from `descendant` (false too when this repository lacks either). */
export async function isAncestor(workspace: Pick<Workspace, 'hostGitDir'>, ancestor: string, descendant: string): Promise<boolean> {
  try {
    await hostGit(workspace, ['merge-base', '--is-ancestor', ancestor, descendant]);
    return true;
  } catch (err) {
    if (err instanceof GitError) return false;
    throw err;
  }
}

/** Who ai-fix's commits are by, for host git commands that create them. */
export function authorEnv(workspace: Pick<Workspace, 'committer'>): Record<string, string> {
  const who = workspace.committer;
  return { GIT_AUTHOR_NAME: who.name, GIT_AUTHOR_EMAIL: who.email, GIT_COMMITTER_NAME: who.name, GIT_COMMITTER_EMAIL: who.email };
}

/**
 * The host repository (base branch, and the task branch when it exists), then the box's
 * checkout of where the task starts: written by host git from the host's own objects, before
 * any command of the task has run.
 */
export async function prepareWorkspace(spec: WorkspaceSpec): Promise<Workspace> {
  const hostGitDir = path.join(spec.jobDir, 'host.git');
  const box: BoxCheckout = { dir: path.join(spec.jobDir, 'box', 'repo'), gitDir: path.join(spec.jobDir, 'box', 'git'), home: path.join(spec.jobDir, 'box', 'home') };
  await fs.rm(spec.jobDir, { recursive: true, force: true });
  await fs.mkdir(box.home, { recursive: true });
  // Other tasks' users (without bwrap) may pass through a job directory, never list or read it.
  await fs.chmod(spec.jobDir, 0o711);
  const auth = { token: spec.token, signal: spec.signal };
  const hostRepository = async () => {
    if (spec.mirrors) {
      await cloneThroughMirror(spec.mirrors, { cloneUrl: spec.cloneUrl, branch: spec.defaultBranch, token: spec.token, gitDir: hostGitDir, signal: spec.signal });
      return;
    }
    await retryTransient(async () => {
      // A failed clone leaves a partial directory behind.
      await fs.rm(hostGitDir, { recursive: true, force: true });
      return git(['clone', '--bare', '--quiet', '--no-tags', '--single-branch', '--branch', spec.defaultBranch, spec.cloneUrl, hostGitDir], auth);
    }, spec.signal);
  };
  // Whether the task branch exists is asked while the host repository is made (a round trip saved).
  // No repository is read for it: it runs in the job directory, which is none, and looks no
  // further up.
  const branchProbe = gitWithRetry(['ls-remote', '--heads', spec.cloneUrl, `refs/heads/${spec.branch}`], {
    ...auth,
    cwd: spec.jobDir,
    env: { GIT_CEILING_DIRECTORIES: path.dirname(path.resolve(spec.jobDir)) },
  });
  const [remoteBranch] = await Promise.all([branchProbe, hostRepository()]);
  const workspace = { hostGitDir };
  const continued = remoteBranch.trim().length > 0;
  if (continued) {
    await gitWithRetry([`--git-dir=${hostGitDir}`, 'fetch', '--quiet', '--no-tags', spec.cloneUrl, `+refs/heads/${spec.branch}:refs/heads/${spec.branch}`], auth);
  }
  const headSha = (await hostGit(workspace, ['rev-parse', `refs/heads/${continued ? spec.branch : spec.defaultBranch}^{commit}`])).trim();
  // A branch that moved since is someone's new work: the earlier run's start is not resumed then.
  const resumable = spec.resumeAt !== undefined && (spec.resumeAt === headSha || (!continued && (await isAncestor(workspace, spec.resumeAt, headSha))));
  const baseSha = resumable ? spec.resumeAt! : headSha;
  await hostGit(workspace, ['update-ref', `refs/heads/${spec.branch}`, baseSha]);
  await checkoutForBox({ hostGitDir, box, branch: spec.branch, startSha: baseSha, cloneUrl: spec.cloneUrl, committer: spec.committer, signal: spec.signal });
  return { jobDir: spec.jobDir, hostGitDir, objects: path.join(hostGitDir, 'objects'), box, branch: spec.branch, baseSha, continued, committer: spec.committer };
}

/** Processes writing a checkout: the disk, not the CPU, is what they wait for, so at least 4. */
const CHECKOUT_WORKERS = Math.min(8, Math.max(4, os.availableParallelism()));

/**
 * (Re)creates the box's checkout at `startSha`, its objects borrowed from the host repository.
 * The agent gets a repository of its own it may commit to: nothing in it is read back.
 */
export async function checkoutForBox(input: {
  hostGitDir: string;
  box: BoxCheckout;
  branch: string;
  startSha: string;
  cloneUrl: string;
  committer: { name: string; email: string };
  signal?: AbortSignal;
}): Promise<void> {
  const { box, signal } = input;
  await fs.rm(box.dir, { recursive: true, force: true });
  await fs.rm(box.gitDir, { recursive: true, force: true });
  await git(['clone', '--quiet', '--shared', '--no-checkout', '--no-tags', '--separate-git-dir', box.gitDir, input.hostGitDir, box.dir], { signal });
  const repo = { cwd: box.dir, gitDir: box.gitDir, signal };
  // Writing the files is most of a large repository's preparation; parallel workers write them
  // two to four times as fast (see docs/benchmarks.md). Same files, same index.
  await git(['-c', `checkout.workers=${CHECKOUT_WORKERS}`, 'checkout', '--quiet', '-B', input.branch, input.startSha], repo);
  // The agent sees `origin` as GitHub's, though the box cannot reach it.
  await git(['remote', 'set-url', 'origin', input.cloneUrl], repo);
  await git(['config', 'user.name', input.committer.name], repo);
  await git(['config', 'user.email', input.committer.email], repo);
}
