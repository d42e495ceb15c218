import type { RepoConfig } from '../config/repo-config.ts';
import type { InstallationOctokit } from '../github/installation-client.ts';
import { formatNumber } from '../util/markdown.ts';
import { readPullRequestState } from '../state/pull-request-state.ts';
import type { TaskResult } from '../queue/task-queue.ts';
import type { TaskRequest } from '../queue/task-request.ts';
import type { Logger } from '../util/logger.ts';
import type { ProgressReporter } from './progress-reporter.ts';
import type { TaskDependencies } from './task-dependencies.ts';
import type { TaskPlan } from './task-plan.ts';

/**
 * Every check passed on the pull request's head: mark a draft ready (when the config says so),
 * ask the person who started the work to review, and report the total cost of all its tasks.
 */
export async function finishGreen(input: {
  octokit: InstallationOctokit;
  deps: TaskDependencies;
  request: TaskRequest;
  plan: Extract<TaskPlan, { kind: 'green' }>;
  config: RepoConfig;
  progress: ProgressReporter;
  log: Logger;
}): Promise<TaskResult> {
  const { octokit, plan, request } = input;
  const repo = { owner: request.repo.owner, repo: request.repo.name };
  if (plan.draft && input.config.ci.ready_when_green) {
    await octokit.graphql('mutation($id: ID!) { markPullRequestReadyForReview(input: { pullRequestId: $id }) { pullRequest { isDraft } } }', { id: plan.nodeId });
  }
  const state = await readPullRequestState(input.deps.redis, input.deps.env.queuePrefix, request.repo.id, request.issueNumber);
  if (state.requester) {
    try {
      await octokit.rest.pulls.requestReviewers({ ...repo, pull_number: plan.pullNumber, reviewers: [state.requester] });
    } catch (err) {
      // The requester cannot review (left the org, or opened the PR themselves): the rest stands.
      if ((err as { status?: number }).status !== 422) throw err;
    }
  }
  const cost = `$${state.dollars.toFixed(2)} and ${formatNumber(Math.round(state.tokens))} tokens across all of ai-fix's runs on it`;
  const details = `All ${plan.checks} checks pass.${plan.draft && input.config.ci.ready_when_green ? ' The pull request is marked ready for review.' : ''}${state.requester ? ` Review requested from @${state.requester}.` : ''} Total cost: ${cost}.`;
  input.log.info({ pull: plan.pullNumber, checks: plan.checks }, 'CI is green');
  await input.progress.update({ stage: 'done', pullRequestUrl: plan.pullUrl, details });
  return { outcome: 'ci-green', pullRequestUrl: plan.pullUrl };
}
