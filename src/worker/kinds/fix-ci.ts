import { totalTokens } from '../../agent/conversation.ts';
import { commitTree } from '../../workspace/commit-and-push.ts';
import type { TaskKind } from '../task-context.ts';
import type { TaskPlan } from '../task-plan.ts';
import { commitMessage } from './commit-message.ts';

/** A failed CI run becomes a fix on the pull request's branch; CI then runs again. */
export const fixCiKind: TaskKind<Extract<TaskPlan, { kind: 'fix-ci' }>> = {
  savesWorkInProgress: true,
  start: async (_task, plan) => ({ followUp: plan.followUp }),
  async commit(task, plan, change, outcome) {
    return { sha: await commitTree(task.workspace, change.tree, commitMessage(task, `Fix CI on #${plan.pullNumber}: ${task.issue.title}`, outcome)) };
  },
  async finish(task, plan, { outcome, sha, passing, notes }) {
    const verdict = passing ? 'pushed; waiting for CI to run again' : `the local tests still fail (${outcome.reason ?? 'unknown'}); pushed anyway so CI can tell`;
    await task.progress.update({
      stage: 'done',
      pullRequestUrl: plan.pullUrl,
      details: [`CI fix ${sha ? sha.slice(0, 7) : '(no new commit)'} ${verdict}.`, outcome.summary ?? '', ...notes].join('\n\n'),
      tokens: totalTokens(outcome.usage),
      dollars: outcome.dollars ?? undefined,
    });
    return { outcome: 'pr-updated', pullRequestUrl: plan.pullUrl };
  },
};
