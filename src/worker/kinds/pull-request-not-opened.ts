import type { TaskResult } from '../../queue/task-queue.ts';
import { failureReason } from '../failure-reason.ts';
import type { PreparedTask } from '../task-context.ts';

/**
 * The branch was pushed but GitHub would not open the pull request (the client already retried
 * what a retry fixes). The work is safe on the branch: say where, and how to open the pull request
 * by hand, rather than run the whole task again.
 */
export async function pullRequestNotOpened(task: PreparedTask, base: string, error: unknown, facts: { tokens?: number; dollars?: number; testsPassed: boolean | null }): Promise<TaskResult> {
  const { branch } = task.workspace;
  const web = task.repoData.html_url;
  const reason = `the branch [\`${branch}\`](${web}/tree/${branch}) holds the work, but GitHub did not open the pull request: ${failureReason(error)}. Open it by hand from [this comparison](${web}/compare/${base}...${branch}?expand=1), or add the \`${task.config.label}\` label again to retry`;
  task.log.error({ err: error, branch }, 'pull request not opened');
  await task.progress.update({ stage: 'failed', reason, tests: { command: task.testCommand, passed: facts.testsPassed ?? undefined }, tokens: facts.tokens, dollars: facts.dollars });
  return { outcome: 'failed', reason };
}
