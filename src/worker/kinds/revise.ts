import { totalTokens } from '../../agent/conversation.ts';
import { answerReviewers } from '../../github/review-replies.ts';
import { updatePullRequestState } from '../../state/pull-request-state.ts';
import { commitTree } from '../../workspace/commit-and-push.ts';
import type { TaskKind } from '../task-context.ts';
import type { TaskPlan } from '../task-plan.ts';
import { announceTask } from './announce-task.ts';
import { commitMessage } from './commit-message.ts';

/**
 * Review feedback becomes a commit on the pull request's branch; each review thread gets a
 * reply, the reviewers are asked to look again, and the progress comment becomes the summary.
 */
export const reviseKind: TaskKind<Extract<TaskPlan, { kind: 'revise' }>> = {
  savesWorkInProgress: true,
  async start(task, plan) {
    await announceTask(task);
    return { followUp: plan.followUp };
  },
  async commit(task, plan, change, outcome) {
    return { sha: await commitTree(task.workspace, change.tree, commitMessage(task, `Address review on #${plan.pullNumber}: ${task.issue.title}`, outcome)) };
  },
  async finish(task, plan, { outcome, sha, passing, testsPassed, notes }) {
    const { request } = task;
    const summary = outcome.summary ?? outcome.reason ?? 'the agent stopped without a summary';
    await answerReviewers(task.octokit, {
      owner: request.repo.owner,
      repo: request.repo.name,
      pullNumber: plan.pullNumber,
      feedback: plan.feedback.items,
      sha,
      summary,
      reviewers: plan.feedback.reviewers,
    });
    await updatePullRequestState(task.deps.redis, task.deps.env.queuePrefix, request.repo.id, request.issueNumber, { set: { feedbackSince: plan.answeredUpTo } });
    const verdict = !passing ? `the tests do not pass yet (${outcome.reason ?? 'still failing'})` : testsPassed ? 'the tests pass' : 'no test command ran, so nothing verified it';
    const details = [`${sha ? `Revision pushed as ${sha.slice(0, 7)}` : 'No new commit'}; ${verdict}.`, summary, ...notes].join('\n\n');
    const usage = { tokens: totalTokens(outcome.usage), dollars: outcome.dollars ?? undefined, tests: { command: task.testCommand, passed: testsPassed ?? undefined } };
    task.log.info({ sha, passing, threads: plan.feedback.items.length }, 'revision finished');
    if (passing) {
      await task.progress.update({ stage: 'done', pullRequestUrl: plan.pullUrl, details, ...usage });
      return { outcome: 'pr-updated', pullRequestUrl: plan.pullUrl };
    }
    await task.progress.update({ stage: 'failed', reason: verdict, pullRequestUrl: plan.pullUrl, details, ...usage });
    return { outcome: 'failed', reason: verdict, pullRequestUrl: plan.pullUrl };
  },
};
