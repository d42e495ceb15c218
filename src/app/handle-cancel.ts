import type { Context } from 'probot';
import { ensureProgressComment } from '../github/progress-comment.ts';
import { renderProgress } from '../github/progress-render.ts';
import { loadRepoConfig } from '../github/repo-config-loader.ts';
import { hasWriteAccess } from '../github/permissions.ts';
import { cancelTasks, markStopped } from '../state/cancellation.ts';
import { workKey } from '../queue/job-ids.ts';
import { forgetOpenPull, rememberOpenPull } from '../state/open-pulls.ts';
import { progressKey } from '../state/progress-key.ts';
import type { HandlerDependencies } from './handle-issue-labeled.ts';
import { issueOfTaskBranch } from './commands.ts';
import { isBot, logIgnoredPull, pullOwnership } from './trigger-guards.ts';

interface CancelTarget {
  owner: string;
  repo: string;
  repoId: number;
  /** Issue numbers whose solve task stops, and PR numbers whose revise / fix-ci / rebase tasks stop. */
  issues: number[];
  pulls: number[];
}

async function cancel(context: Context, deps: HandlerDependencies, target: CancelTarget, reason: string): Promise<number> {
  const keys = [
    ...target.issues.map((n) => workKey('solve', target.repoId, n)),
    ...target.pulls.flatMap((n) => (['revise', 'fix-ci', 'rebase'] as const).map((kind) => workKey(kind, target.repoId, n))),
  ];
  const stoppedAt = Date.now();
  await Promise.all(target.issues.map((n) => markStopped(deps.redis, deps.queuePrefix, workKey('solve', target.repoId, n), stoppedAt)));
  const outcome = await cancelTasks(deps.queue, deps.redis, deps.queuePrefix, keys, reason);
  context.log.info({ ...outcome, reason }, 'cancel requested');
  // Running tasks report their own cancellation; removed ones never started, so say it for them.
  for (const { jobId, number: issueNumber } of outcome.removed) {
    deps.background.run('cancelled comment', () =>
      ensureProgressComment(
        context.octokit,
        { redis: deps.redis, key: progressKey(deps.queuePrefix, jobId) },
        { owner: target.owner, repo: target.repo, issueNumber },
        renderProgress({ stage: 'cancelled', reason }),
      ),
    );
  }
  return outcome.removed.length + outcome.signalled.length;
}

/** The label was removed: the issue's task stops. */
export async function handleIssueUnlabeled(context: Context<'issues.unlabeled'>, deps: HandlerDependencies): Promise<void> {
  const { payload } = context;
  if (!payload.label || isBot(payload.sender)) return;
  const repo = { owner: payload.repository.owner.login, repo: payload.repository.name };
  const config = await loadRepoConfig(context.octokit, repo);
  if (payload.label.name !== (config.ok ? config.config.label : 'ai-fix')) return;
  await cancel(context, deps, { ...repo, repoId: payload.repository.id, issues: [payload.issue.number], pulls: [] }, `the \`${payload.label.name}\` label was removed`);
}

export async function handleIssueClosed(context: Context<'issues.closed'>, deps: HandlerDependencies): Promise<void> {
  const { payload } = context;
  const repo = { owner: payload.repository.owner.login, repo: payload.repository.name };
  await cancel(context, deps, { ...repo, repoId: payload.repository.id, issues: [payload.issue.number], pulls: [] }, 'the issue was closed');
}

export async function handlePullRequestClosed(context: Context<'pull_request.closed'>, deps: HandlerDependencies): Promise<void> {
  const { payload } = context;
  // Closing someone else's pull request on an `ai-fix/issue-N` branch must not stop ai-fix's work on issue N.
  const ownership = await pullOwnership(deps.redis, deps.queuePrefix, payload.repository.id, payload.pull_request);
  if (!ownership.ours) {
    logIgnoredPull(context.log, ownership, { pull: payload.pull_request.number, event: 'pull_request.closed' });
    return;
  }
  const issue = ownership.issueNumber;
  const repo = { owner: payload.repository.owner.login, repo: payload.repository.name };
  await forgetOpenPull(deps.redis, deps.queuePrefix, payload.repository.id, { pullNumber: payload.pull_request.number, issueNumber: issue });
  await cancel(context, deps, { ...repo, repoId: payload.repository.id, issues: [issue], pulls: [payload.pull_request.number] }, 'the pull request was closed');
}

/**
 * Closing dropped the pull request from the open-pulls set; reopened, it is ai-fix's again if the
 * app itself opened it (no one else can author as the app) from a branch of this repository.
 */
export async function handlePullRequestReopened(
  context: Context<'pull_request.reopened'>,
  deps: HandlerDependencies,
  appSlug: () => Promise<string | undefined>,
): Promise<void> {
  const { payload } = context;
  const pull = payload.pull_request;
  const issueNumber = issueOfTaskBranch(pull.head.ref);
  if (issueNumber === null || pull.head.repo?.id !== payload.repository.id) return;
  const slug = await appSlug();
  const author = pull.user?.login.toLowerCase();
  if (!slug || pull.user?.type !== 'Bot' || author !== `${slug}[bot]`.toLowerCase()) {
    context.log.info({ pull: pull.number, author }, 'ignored: reopened pull request was not opened by ai-fix');
    return;
  }
  await rememberOpenPull(deps.redis, deps.queuePrefix, payload.repository.id, { pullNumber: pull.number, issueNumber });
  context.log.info({ pull: pull.number }, 'reopened ai-fix pull request is followed again');
}

/** `/ai-fix stop` in a comment by someone with write access. */
export async function handleStopCommand(context: Context<'issue_comment.created'>, deps: HandlerDependencies): Promise<void> {
  const { payload } = context;
  const repo = { owner: payload.repository.owner.login, repo: payload.repository.name };
  const login = payload.comment.user?.login ?? '';
  if (!(await hasWriteAccess(context.octokit, repo, login))) return;
  const number = payload.issue.number;
  const target: CancelTarget = { ...repo, repoId: payload.repository.id, issues: [number], pulls: [] };
  if (payload.issue.pull_request) {
    const { data: pull } = await context.octokit.rest.pulls.get({ ...repo, pull_number: number });
    const ownership = await pullOwnership(deps.redis, deps.queuePrefix, payload.repository.id, pull);
    if (!ownership.ours) {
      logIgnoredPull(context.log, ownership, { pull: number, event: 'issue_comment.created', sender: login });
      return;
    }
    target.issues = [ownership.issueNumber];
    target.pulls.push(number);
  }
  const cancelled = await cancel(context, deps, target, `stopped by @${login}`);
  deps.background.run('stop reaction', () =>
    context.octokit.rest.reactions.createForIssueComment({ ...repo, comment_id: payload.comment.id, content: cancelled ? '+1' : 'confused' }),
  );
}
