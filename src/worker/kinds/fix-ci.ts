import { totalTokens } from '../../agent/conversation.ts';
import { commitTree } from '../../workspace/commit-and-push.ts';
import type { TaskKind } from '../task-context.ts';
import type { TaskPlan } from '../task-plan.ts';
import { announceTask } from './announce-task.ts';
import { commitMessage } from './commit-message.ts';

/** A failed CI run becomes a fix on the pull request's branch; CI then runs again. */
export const fixCiKind: TaskKind<Extract<TaskPlan, { kind: 'fix-ci' }>> = {
  savesWorkInProgress: true,
  async start(task, plan) {
    await announceTask(task);
    return { followUp: plan.followUp };
  },
  async commit(task, plan, change, outcome) {
    return { sha: await commitTree(task.workspace, change.tree, commitMessage(task, `Fix CI on #${plan.pullNumber}: ${task.issue.title}`, outcome)) };
  },
  async finish(task, plan, { outcome, sha, passing, testsPassed, notes }) {
    const local = testsPassed ? 'the local tests pass' : 'no local test command ran';
    const verdict = passing ? `pushed (${local}); waiting for CI to run again` : `the local tests still fail (${outcome.reason ?? 'unknown'}); pushed anyway so CI can tell`;
    await task.progress.update({
      stage: 'done',
      pullRequestUrl: plan.pullUrl,
      details: [`CI fix ${sha ? sha.slice(0, 7) : '(no new commit)'} ${verdict}.`, outcome.summary ?? '', ...notes].join('\n\n'),
      tests: { command: task.testCommand, passed: testsPassed ?? undefined },
      tokens: totalTokens(outcome.usage),
      dollars: outcome.dollars ?? undefined,
    });
    return { outcome: 'pr-updated', pullRequestUrl: plan.pullUrl };
  },
};
