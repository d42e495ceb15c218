import type { AgentOutcome } from '../agent/agent-loop.ts';
import { totalTokens } from '../agent/conversation.ts';
import type { InstallationOctokit } from '../github/installation-client.ts';
import { answerReviewers } from '../github/review-replies.ts';
import { updatePullRequestState } from '../queue/pull-request-state.ts';
import type { TaskResult } from '../queue/task-queue.ts';
import type { TaskRequest } from '../queue/task-request.ts';
import type { Logger } from '../util/logger.ts';
import type { ProgressReporter } from './progress-reporter.ts';
import type { TaskDependencies } from './task-dependencies.ts';
import type { TaskPlan } from './task-plan.ts';

/**
 * After a revision is pushed: reply in each review thread, ask the reviewers to look again, and
 * turn the progress comment into the revision's summary.
 */
export async function finishRevision(input: {
  octokit: InstallationOctokit;
  deps: TaskDependencies;
  request: TaskRequest;
  plan: Extract<TaskPlan, { kind: 'revise' }>;
  outcome: AgentOutcome;
  sha: string | null;
  passing: boolean;
  progress: ProgressReporter;
  log: Logger;
}): Promise<TaskResult> {
  const { plan, outcome, sha, passing, request } = input;
  const summary = outcome.summary ?? outcome.reason ?? 'the agent stopped without a summary';
  await answerReviewers(input.octokit, {
    owner: request.repo.owner,
    repo: request.repo.name,
    pullNumber: plan.pullNumber,
    feedback: plan.feedback.items,
    sha,
    summary,
    reviewers: plan.feedback.reviewers,
  });
  await updatePullRequestState(input.deps.redis, input.deps.env.queuePrefix, request.repo.id, request.issueNumber, { set: { feedbackSince: plan.answeredUpTo } });
  const verdict = passing ? 'the tests pass' : `the tests do not pass yet (${outcome.reason ?? 'still failing'})`;
  const details = `${sha ? `Revision pushed as ${sha.slice(0, 7)}` : 'No new commit'}; ${verdict}.\n\n${summary}`;
  const usage = { tokens: totalTokens(outcome.usage), dollars: outcome.dollars ?? undefined };
  input.log.info({ sha, passing, threads: plan.feedback.items.length }, 'revision finished');
  if (passing) {
    await input.progress.update({ stage: 'done', pullRequestUrl: plan.pullUrl, details, ...usage });
    return { outcome: 'pr-updated', pullRequestUrl: plan.pullUrl };
  }
  await input.progress.update({ stage: 'failed', reason: verdict, pullRequestUrl: plan.pullUrl, details, ...usage });
  return { outcome: 'failed', reason: verdict, pullRequestUrl: plan.pullUrl };
}
