import type { Logger } from '../util/logger.ts';
import { commitTree, pushBranch } from '../workspace/commit-and-push.ts';
import { hostGit } from '../workspace/prepare-workspace.ts';
import { sealChange } from './stages/seal.ts';
import type { PreparedTask } from './task-context.ts';

/**
 * Before a task is handed to another worker, its work so far goes through the same boundary as
 * a finished change (out of the box as a patch, verified on the host) and is pushed to the task
 * branch, so the next run continues from it instead of starting over.
 */
export async function saveWorkInProgress(task: PreparedTask, log: Logger): Promise<void> {
  try {
    // The task's own signal is aborted: the box is asked again under a fresh one.
    const sealed = await sealChange({ ...task, signal: new AbortController().signal });
    if (sealed.refusal) {
      log.warn('work in progress not saved: it adds what looks like a credential');
      return;
    }
    const sha = await commitTree(task.workspace, sealed.change.tree, 'WIP: ai-fix work in progress (worker restarted)');
    // Also a commit made before the stop that its push did not get out.
    const head = (await hostGit(task.workspace, ['rev-parse', `refs/heads/${task.workspace.branch}`])).trim();
    if (head !== task.workspace.baseSha || task.workspace.continued) await pushBranch(task.workspace, task.repoData.clone_url, await task.token());
    log.info({ sha }, 'work in progress saved to the task branch');
  } catch (err) {
    log.warn({ err }, 'could not save work in progress');
  }
}
