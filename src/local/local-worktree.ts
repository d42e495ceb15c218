import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { ConfigError } from '../util/errors.ts';
import { git } from '../workspace/git.ts';

export interface LocalWorktree {
  /** The checkout the agent works in (a real path). */
  dir: string;
  /** Scratch HOME/TMPDIR for the agent's commands. */
  home: string;
  branch: string;
  /** The user's repository. */
  repo: string;
}

const IDENTITY = ['-c', 'user.name=ai-fix', '-c', 'user.email=ai-fix@localhost', '-c', 'commit.gpgsign=false'];

/**
 * A worktree of the user's repository on a new branch from HEAD, in a temp directory, so the
 * agent never touches their working tree (nor its uncommitted changes).
 */
export async function createLocalWorktree(repoPath: string, now = new Date()): Promise<LocalWorktree> {
  let repo: string;
  try {
    repo = (await git(['rev-parse', '--show-toplevel'], { cwd: path.resolve(repoPath) })).trim();
  } catch {
    throw new ConfigError(`run: ${repoPath} is not a git checkout`);
  }
  const baseSha = (await git(['rev-parse', 'HEAD'], { cwd: repo })).trim();
  const branch = `ai-fix/local-${now.toISOString().replace(/[-:]/g, '').replace(/\..*$/, '')}`;
  const scratch = await fs.realpath(await fs.mkdtemp(path.join(os.tmpdir(), 'ai-fix-local-')));
  const dir = path.join(scratch, 'repo');
  const home = path.join(scratch, 'home');
  await fs.mkdir(home);
  await git(['worktree', 'add', '--quiet', '-b', branch, dir, baseSha], { cwd: repo });
  return { dir, home, branch, repo };
}

/** Commits all the agent's changes on the branch; null when there are none. */
export async function commitLocalWork(worktree: LocalWorktree, message: string): Promise<{ sha: string; files: number } | null> {
  await git(['add', '--all'], { cwd: worktree.dir });
  const staged = (await git(['diff', '--cached', '--name-only'], { cwd: worktree.dir })).split('\n').filter(Boolean);
  if (!staged.length) return null;
  await git([...IDENTITY, 'commit', '--no-verify', '--quiet', '-m', message], { cwd: worktree.dir });
  return { sha: (await git(['rev-parse', 'HEAD'], { cwd: worktree.dir })).trim(), files: staged.length };
}

/** Removes the worktree (the branch and its commits stay); an unchanged branch is deleted too. */
export async function removeLocalWorktree(worktree: LocalWorktree, keepBranch: boolean): Promise<void> {
  await git(['worktree', 'remove', '--force', worktree.dir], { cwd: worktree.repo }).catch(() => undefined);
  await fs.rm(path.dirname(worktree.dir), { recursive: true, force: true });
  await git(['worktree', 'prune'], { cwd: worktree.repo }).catch(() => undefined);
  if (!keepBranch) await git(['branch', '-D', worktree.branch], { cwd: worktree.repo }).catch(() => undefined);
}
