import { totalTokens } from '../../agent/conversation.ts';
import { detectCi } from '../../ci/ci-presence.ts';
import { pullRequestTitle, renderPullRequestBody } from '../../github/pull-request-body.ts';
import { ensurePullRequest } from '../../github/pull-request.ts';
import { rememberOpenPull } from '../../queue/open-pulls.ts';
import { redact } from '../../util/redact.ts';
import { branchFiles, commitTree } from '../../workspace/commit-and-push.ts';
import type { TaskKind } from '../task-context.ts';
import type { TaskPlan } from '../task-plan.ts';
import { commitMessage } from './commit-message.ts';

/** An issue becomes a new branch and a pull request. */
export const solveKind: TaskKind<Extract<TaskPlan, { kind: 'solve' }>> = {
  savesWorkInProgress: true,
  start: async () => ({}),
  async commit(task, _plan, change, outcome) {
    return { sha: await commitTree(task.workspace, change.tree, commitMessage(task, `Fix #${task.request.issueNumber}: ${task.issue.title}`, outcome)) };
  },
  async finish(task, plan, work) {
    const { octokit, repo, request, workspace, outcome } = { ...task, outcome: work.outcome };
    const ci = { presence: await detectCi(octokit, repo, plan.base, await branchFiles(workspace)), base: plan.base, maxAttempts: task.config.ci.max_attempts };
    const pr = await ensurePullRequest(octokit, {
      ...repo,
      head: workspace.branch,
      base: plan.base,
      title: pullRequestTitle(request.issueNumber, task.issue.title, work.passing),
      // The summary and the commands come from the model: a secret it printed must not reach GitHub.
      body: redact(
        renderPullRequestBody({
          issueNumber: request.issueNumber,
          summary: outcome.summary ?? `The agent stopped before finishing: ${outcome.reason ?? 'unknown reason'}.`,
          files: work.change.files,
          testCommand: task.testCommand,
          testsPassed: work.testsPassed,
          testOutput: work.testOutput,
          stopReason: outcome.reason,
          usage: outcome.usage,
          dollars: outcome.dollars,
          steps: outcome.steps,
          model: work.model,
          durationMs: Date.now() - task.startedAt,
          notes: work.notes,
          plan: task.agentNotes.plan(),
          commands: task.agentNotes.commands(),
          taskPageUrl: task.pageUrl,
          ci,
        }),
        task.deps.secrets,
      ),
      draft: task.config.draft || !work.passing,
    });
    task.log.info({ pullRequest: pr.url, created: pr.created, passing: work.passing }, 'pull request ready');
    await rememberOpenPull(task.deps.redis, task.deps.env.queuePrefix, request.repo.id, { pullNumber: pr.number, issueNumber: request.issueNumber });
    const usage = { tokens: totalTokens(outcome.usage), dollars: outcome.dollars ?? undefined };
    if (work.passing) {
      await task.progress.update({ stage: 'done', pullRequestUrl: pr.url, ...usage });
      return { outcome: pr.created ? 'pr-opened' : 'pr-updated', pullRequestUrl: pr.url };
    }
    const reason = outcome.reason ?? 'the tests still fail';
    await task.progress.update({ stage: 'failed', reason: `${reason}. The work so far is in the draft pull request ${pr.url}, marked as not passing.`, pullRequestUrl: pr.url, ...usage });
    return { outcome: 'failed', reason, pullRequestUrl: pr.url };
  },
};
