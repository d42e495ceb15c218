import { git, gitWithRetry } from './git.ts';
import type { Workspace } from './prepare-workspace.ts';

/** Commits everything the agent changed; returns null when there is nothing to commit. */
export async function commitAll(workspace: Workspace, message: string): Promise<string | null> {
  await git(['add', '--all'], { cwd: workspace.dir, gitDir: workspace.gitDir });
  const staged = await git(['diff', '--cached', '--name-only'], { cwd: workspace.dir, gitDir: workspace.gitDir });
  if (!staged.trim()) return null;
  await git(['commit', '--no-verify', '--quiet', '-m', message], { cwd: workspace.dir, gitDir: workspace.gitDir });
  return (await git(['rev-parse', 'HEAD'], { cwd: workspace.dir, gitDir: workspace.gitDir })).trim();
}

/** Files changed on the branch since this run started, with their status letters. */
export async function changedFiles(workspace: Workspace): Promise<Array<{ status: string; path: string }>> {
  const out = await git(['diff', '--name-status', '--no-renames', workspace.baseSha, 'HEAD'], { cwd: workspace.dir, gitDir: workspace.gitDir });
  return out
    .split('\n')
    .filter(Boolean)
    .map((line) => {
      const [status = '?', ...rest] = line.split('\t');
      return { status, path: rest.join('\t') };
    });
}

export async function diffStat(workspace: Workspace): Promise<string> {
  return (await git(['diff', '--stat', workspace.baseSha, 'HEAD'], { cwd: workspace.dir, gitDir: workspace.gitDir })).trim();
}

export class PushRefusedError extends Error {
  override name = 'PushRefusedError';
}

/** True when `sha` is HEAD or an ancestor of it (false when this clone does not even have it). */
async function isAncestorOfHead(workspace: Workspace, sha: string): Promise<boolean> {
  try {
    await git(['merge-base', '--is-ancestor', sha, 'HEAD'], { cwd: workspace.dir, gitDir: workspace.gitDir });
    return true;
  } catch {
    return false;
  }
}

/**
 * Pushes the task branch and nothing else: an explicit URL and refspec (so whatever the agent
 * wrote into the checkout cannot redirect the push), no tags, never forced. When the branch
 * moved on GitHub while ai-fix worked, the push is refused before it is tried: ai-fix does not
 * write over commits it did not build on.
 */
export async function pushBranch(
  workspace: Workspace,
  cloneUrl: string,
  token: string,
  signal?: AbortSignal,
): Promise<void> {
  if (!workspace.branch.startsWith('ai-fix/')) {
    throw new PushRefusedError(`refusing to push ${workspace.branch}: only ai-fix/* branches are pushed`);
  }
  const ref = `refs/heads/${workspace.branch}`;
  const options = { cwd: workspace.dir, gitDir: workspace.gitDir, token, signal };
  const remoteSha = (await gitWithRetry(['ls-remote', cloneUrl, ref], options)).split('\t')[0]?.trim();
  if (remoteSha && !(await isAncestorOfHead(workspace, remoteSha))) {
    throw new PushRefusedError(
      `the branch ${workspace.branch} changed on GitHub while ai-fix worked (it is now at ${remoteSha.slice(0, 7)}); ai-fix does not overwrite commits it did not build on`,
    );
  }
  await gitWithRetry(['push', '--no-verify', '--porcelain', '--no-follow-tags', cloneUrl, `HEAD:${ref}`], options);
}
