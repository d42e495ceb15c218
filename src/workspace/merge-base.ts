import { GitError, gitWithRetry } from './git.ts';
import { authorEnv, hostGit, isAncestor, type Workspace } from './prepare-workspace.ts';

export type MergeOutcome =
  | { status: 'up-to-date'; baseSha: string }
  | {
      status: 'clean' | 'conflicts';
      baseSha: string;
      /** The task branch before the merge. */
      branchSha: string;
      /** The merge commit the box starts from: conflict markers and all when there are conflicts. */
      mergeSha: string;
      conflicts: string[];
    };

/**
 * Merges the latest base branch into the task branch in the host repository, without a work
 * tree (`git merge-tree`), and commits the merge, conflict markers and all, as the run's
 * starting point: the agent's resolution is then measured (and reviewed) against it, and
 * becomes the tree of the final merge commit, so the pushed history never holds a marker.
 */
export async function mergeBaseBranch(workspace: Workspace, spec: { cloneUrl: string; base: string; token: string; message: string; signal?: AbortSignal }): Promise<MergeOutcome> {
  const ref = `refs/remotes/origin/${spec.base}`;
  await gitWithRetry([`--git-dir=${workspace.hostGitDir}`, 'fetch', '--quiet', '--no-tags', spec.cloneUrl, `+refs/heads/${spec.base}:${ref}`], { token: spec.token, signal: spec.signal });
  const baseSha = (await hostGit(workspace, ['rev-parse', `${ref}^{commit}`])).trim();
  const branchSha = workspace.baseSha;
  if (await isAncestor(workspace, baseSha, branchSha)) return { status: 'up-to-date', baseSha };
  let output: string;
  let status: 'clean' | 'conflicts' = 'clean';
  try {
    output = await hostGit(workspace, ['merge-tree', '--write-tree', '--name-only', '--no-messages', '-z', branchSha, baseSha]);
  } catch (err) {
    // Exit code 1 is a merge with conflicts; anything else is not ours to paper over.
    if (!(err instanceof GitError) || err.exitCode !== 1 || !err.stdout) throw err;
    output = err.stdout;
    status = 'conflicts';
  }
  const [tree = '', ...rest] = output.split('\0');
  const conflicts = status === 'conflicts' ? [...new Set(rest.filter(Boolean))] : [];
  const mergeSha = (await hostGit(workspace, ['commit-tree', tree, '-p', branchSha, '-p', baseSha, '-m', spec.message], { env: authorEnv(workspace) })).trim();
  await hostGit(workspace, ['update-ref', `refs/heads/${workspace.branch}`, mergeSha]);
  workspace.baseSha = mergeSha;
  return { status, baseSha, branchSha, mergeSha, conflicts };
}

// Only the outer markers: a line of seven `=` is also a Markdown heading underline.
const MARKER = /^(<{7}|>{7})( |$)/m;

/** The conflicted files that still hold a conflict marker in `tree` (read from objects, not files). */
export async function filesWithConflictMarkers(workspace: Workspace, tree: string, files: string[]): Promise<string[]> {
  const left: string[] = [];
  for (const file of files) {
    const text = await hostGit(workspace, ['cat-file', '-p', `${tree}:${file}`]).catch(() => '');
    if (MARKER.test(text)) left.push(file);
  }
  return left;
}

/** Files under `dir` that the merge changed on the task branch (e.g. `.github/workflows`). */
export async function mergeChanged(workspace: Workspace, merge: Extract<MergeOutcome, { branchSha: string }>, dir: string): Promise<string[]> {
  const out = await hostGit(workspace, ['diff-tree', '-r', '--name-only', '-z', merge.branchSha, merge.mergeSha, '--', dir]);
  return out.split('\0').filter(Boolean);
}
