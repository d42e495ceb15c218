import fs from 'node:fs/promises';
import path from 'node:path';
import { git, gitWithRetry } from './git.ts';
import type { Workspace } from './prepare-workspace.ts';

export type MergeOutcome =
  | { status: 'up-to-date'; baseSha: string }
  | { status: 'clean' | 'conflicts'; baseSha: string; /** The task branch before the merge. */ branchSha: string; conflicts: string[] };

/**
 * Merges the latest base branch into the task branch and commits the merge, conflict markers
 * and all, as the run's new starting point: the agent's resolution is then measured (and
 * reviewed) against it, and folded into that same commit by `sealMerge`, so the pushed history
 * never holds a marker.
 */
export async function mergeBaseBranch(
  workspace: Workspace,
  spec: { cloneUrl: string; base: string; token: string; message: string; signal?: AbortSignal },
): Promise<MergeOutcome> {
  const repo = { cwd: workspace.dir, gitDir: workspace.gitDir };
  const ref = `refs/remotes/origin/${spec.base}`;
  await gitWithRetry(['fetch', '--no-tags', spec.cloneUrl, `+refs/heads/${spec.base}:${ref}`], { ...repo, token: spec.token, signal: spec.signal });
  const baseSha = (await git(['rev-parse', ref], repo)).trim();
  const branchSha = (await git(['rev-parse', 'HEAD'], repo)).trim();
  if (await isAncestor(repo, baseSha, branchSha)) return { status: 'up-to-date', baseSha };
  let status: 'clean' | 'conflicts' = 'clean';
  let conflicts: string[] = [];
  try {
    await git(['merge', '--no-ff', '--no-verify', '--no-edit', '-m', spec.message, baseSha], repo);
  } catch (err) {
    conflicts = (await git(['diff', '--name-only', '--diff-filter=U', '-z'], repo)).split('\0').filter(Boolean);
    // A merge that failed for another reason than conflicts is not ours to paper over.
    if (conflicts.length === 0) throw err;
    status = 'conflicts';
    await git(['add', '--all'], repo);
    await git(['commit', '--no-verify', '--quiet', '--no-edit', '-m', spec.message], repo);
  }
  workspace.baseSha = (await git(['rev-parse', 'HEAD'], repo)).trim();
  return { status, baseSha, branchSha, conflicts };
}

async function isAncestor(repo: { cwd: string; gitDir: string }, ancestor: string, of: string): Promise<boolean> {
  try {
    await git(['merge-base', '--is-ancestor', ancestor, of], repo);
    return true;
  } catch {
    return false;
  }
}

// Only the outer markers: a line of seven `=` is also a Markdown heading underline.
const MARKER = /^(<{7}|>{7})( |$)/m;

/** The conflicted files that still hold a conflict marker. */
export async function filesWithConflictMarkers(workspace: Workspace, files: string[]): Promise<string[]> {
  const left: string[] = [];
  for (const file of files) {
    const text = await fs.readFile(path.join(workspace.dir, file), 'utf8').catch(() => '');
    if (MARKER.test(text)) left.push(file);
  }
  return left;
}

/** Files under `dir` that the merge changed on the task branch (e.g. `.github/workflows`). */
export async function mergeChanged(workspace: Workspace, merge: Extract<MergeOutcome, { branchSha: string }>, dir: string): Promise<string[]> {
  const out = await git(['diff', '--name-only', '-z', merge.branchSha, 'HEAD', '--', dir], { cwd: workspace.dir, gitDir: workspace.gitDir });
  return out.split('\0').filter(Boolean);
}

/** Folds what is staged (the resolution) into the merge commit, keeping its two parents. */
export async function sealMerge(workspace: Workspace, message: string): Promise<string> {
  const repo = { cwd: workspace.dir, gitDir: workspace.gitDir };
  await git(['add', '--all'], repo);
  await git(['commit', '--amend', '--no-verify', '--quiet', '-m', message], repo);
  return (await git(['rev-parse', 'HEAD'], repo)).trim();
}
