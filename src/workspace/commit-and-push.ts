import fs from 'node:fs/promises';
import path from 'node:path';
import { cleanForDisplay } from '../util/display-text.ts';
import { gitWithRetry } from './git.ts';
import { authorEnv, hostGit, hostScratch, isAncestor, type Workspace } from './prepare-workspace.ts';

/**
 * Commits `tree` on the task branch of the host repository, with `parents` (the branch's head
 * by default); null when the tree is the parent's and there is a single parent (nothing changed).
 */
export async function commitTree(workspace: Workspace, tree: string, message: string, parents?: string[]): Promise<string | null> {
  const head = (await hostGit(workspace, ['rev-parse', `refs/heads/${workspace.branch}`])).trim();
  const parentShas = parents ?? [head];
  if (parentShas.length === 1 && (await hostGit(workspace, ['rev-parse', `${parentShas[0]}^{tree}`])).trim() === tree) return null;
  const messageFile = path.join(await hostScratch(workspace), 'commit-message');
  await fs.writeFile(messageFile, cleanForDisplay(message));
  const sha = (await hostGit(workspace, ['commit-tree', tree, ...parentShas.flatMap((p) => ['-p', p]), '-F', messageFile], { env: authorEnv(workspace) })).trim();
  await hostGit(workspace, ['update-ref', `refs/heads/${workspace.branch}`, sha]);
  return sha;
}

/** Every file path on the task branch, as committed. */
export async function branchFiles(workspace: Workspace): Promise<string[]> {
  return (await hostGit(workspace, ['ls-tree', '-r', '-z', '--name-only', '--full-tree', `refs/heads/${workspace.branch}`])).split('\0').filter(Boolean);
}

export class PushRefusedError extends Error {
  override name = 'PushRefusedError';
}


/**
 * Pushes the task branch of the host repository and nothing else: an explicit URL and refspec,
 * no tags, never forced. When the branch moved on GitHub while ai-fix worked, the push is
 * refused before it is tried: ai-fix does not write over commits it did not build on.
 */
export async function pushBranch(workspace: Workspace, cloneUrl: string, token: string, signal?: AbortSignal): Promise<void> {
  if (!workspace.branch.startsWith('ai-fix/')) {
    throw new PushRefusedError(`refusing to push ${workspace.branch}: only ai-fix/* branches are pushed`);
  }
  const ref = `refs/heads/${workspace.branch}`;
  const options = { token, signal };
  const remoteSha = (await gitWithRetry([`--git-dir=${workspace.hostGitDir}`, 'ls-remote', cloneUrl, ref], options)).split('\t')[0]?.trim();
  if (remoteSha && !(await isAncestor(workspace, remoteSha, `refs/heads/${workspace.branch}`))) {
    throw new PushRefusedError(
      `the branch ${workspace.branch} changed on GitHub while ai-fix worked (it is now at ${remoteSha.slice(0, 7)}); ai-fix does not overwrite commits it did not build on`,
    );
  }
  await gitWithRetry([`--git-dir=${workspace.hostGitDir}`, 'push', '--no-verify', '--porcelain', '--no-follow-tags', cloneUrl, `${ref}:${ref}`], options);
}
