import { totalTokens } from '../../agent/conversation.ts';
import { detectCi } from '../../ci/ci-presence.ts';
import { issueCutNotes } from '../../github/issue-context.ts';
import { pullRequestTitle, renderPullRequestBody } from '../../github/pull-request-body.ts';
import { ensurePullRequest } from '../../github/pull-request.ts';
import { rememberOpenPull } from '../../state/open-pulls.ts';
import { redact } from '../../util/redact.ts';
import { branchFiles, commitTree } from '../../workspace/commit-and-push.ts';
import { verifyPushed } from '../stages/verify-tests.ts';
import type { TaskKind } from '../task-context.ts';
import type { TaskPlan } from '../task-plan.ts';
import { announceTask } from './announce-task.ts';
import { commitMessage } from './commit-message.ts';
import { pullRequestNotOpened } from './pull-request-not-opened.ts';

/** An issue becomes a new branch and a pull request. */
export const solveKind: TaskKind<Extract<TaskPlan, { kind: 'solve' }>> = {
  savesWorkInProgress: true,
  async start(task) {
    await announceTask(task);
    return {};
  },
  async commit(task, _plan, change, outcome) {
    return { sha: await commitTree(task.workspace, change.tree, commitMessage(task, `Fix #${task.request.issueNumber}: ${task.issue.title}`, outcome)) };
  },
  async finish(task, plan, work) {
    const { octokit, repo, request, workspace, outcome } = { ...task, outcome: work.outcome };
    const verification = await verifyPushed(task, work.baseTests, work.sha);
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
          notes: [...issueCutNotes(task.issue), ...work.notes],
          plan: task.agentNotes.plan(),
          commands: task.agentNotes.commands(),
          taskPageUrl: task.pageUrl,
          ci,
          verification,
        }),
        task.deps.secrets,
      ),
      // A change no test verified is a draft: someone has to check it before it is ready.
      draft: task.config.draft || !work.passing || work.testsPassed !== true,
    }).catch((error: unknown) => ({ error }));
    const usage = { tokens: totalTokens(outcome.usage), dollars: outcome.dollars ?? undefined };
    if ('error' in pr) return pullRequestNotOpened(task, plan.base, pr.error, { ...usage, testsPassed: work.testsPassed });
    task.log.info({ pullRequest: pr.url, created: pr.created, passing: work.passing }, 'pull request ready');
    await rememberOpenPull(task.deps.redis, task.deps.env.queuePrefix, request.repo.id, { pullNumber: pr.number, issueNumber: request.issueNumber });
    const tests = { command: task.testCommand, passed: work.testsPassed ?? undefined };
    if (work.passing) {
      await task.progress.update({ stage: 'done', pullRequestUrl: pr.url, tests, ...usage });
      return { outcome: pr.created ? 'pr-opened' : 'pr-updated', pullRequestUrl: pr.url };
    }
    const reason = outcome.reason ?? 'the tests still fail';
    await task.progress.update({ stage: 'failed', reason: `${reason}. The work so far is in the draft pull request ${pr.url}, marked as not passing.`, pullRequestUrl: pr.url, tests, ...usage });
    return { outcome: 'failed', reason, pullRequestUrl: pr.url };
  },
};
