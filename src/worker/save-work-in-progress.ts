import { installationToken, type InstallationOctokit } from '../github/installation-client.ts';
import type { Logger } from '../util/logger.ts';
import { commitAll, pushBranch } from '../workspace/commit-and-push.ts';
import type { Workspace } from '../workspace/prepare-workspace.ts';

/**
 * Before a task is handed to another worker, its uncommitted work is pushed to the task branch
 * so the next run continues from it instead of starting over.
 */
export async function saveWorkInProgress(
  inFlight: { workspace?: Workspace; cloneUrl?: string },
  octokit: InstallationOctokit,
  log: Logger,
): Promise<void> {
  const { workspace, cloneUrl } = inFlight;
  if (!workspace || !cloneUrl) return;
  try {
    const sha = await commitAll(workspace, 'WIP: ai-fix work in progress (worker restarted)');
    if (sha || workspace.continued) await pushBranch(workspace, cloneUrl, await installationToken(octokit));
    log.info({ sha }, 'work in progress saved to the task branch');
  } catch (err) {
    log.warn({ err }, 'could not save work in progress');
  }
}
