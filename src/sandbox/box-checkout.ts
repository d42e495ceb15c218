import path from 'node:path';
import { shellQuote } from '../util/shell-quote.ts';
import { boxGitFailure, stageScript } from './box-git.ts';
import type { TaskBox } from './task-box.ts';

/**
 * Makes the box's work tree hold exactly `commit`'s files, in the box, with a repository of its
 * own (as the patch's extraction does, so nothing the agent wrote configures git here).
 *
 * In place rather than a fresh checkout elsewhere: what setup made and git ignores (node_modules,
 * a virtualenv, target/, build caches) stays where the test command expects it, and no second
 * copy of a large tree is written. Everything git would see is the commit's: the index is first
 * the whole work tree (so files left out of the change are removed, not forgotten), then
 * `read-tree -u --reset` rewrites, adds and removes what differs from the commit.
 */
export async function checkoutInBox(box: TaskBox, objects: string[], base: string, commit: string, signal?: AbortSignal): Promise<void> {
  const repo = path.join(box.dirs.home, '.ai-fix-final.git');
  const git = `git --git-dir=${shellQuote(repo)} --work-tree=. -c core.hooksPath=/dev/null -c core.fsmonitor=false`;
  const result = await box.run(`${stageScript(repo, objects, base, true)}\n${git} read-tree -u --reset ${shellQuote(commit)}`, { timeoutMs: 600_000, signal });
  if (result.exitCode !== 0) throw boxGitFailure('could not check the commit out in the sandbox', result);
}
