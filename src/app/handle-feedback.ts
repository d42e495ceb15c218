import type { Context } from 'probot';
import { enqueueTask } from '../queue/task-queue.ts';
import { TASK_REQUEST_VERSION, type TaskRequest } from '../queue/task-request.ts';
import { readPullRequestState } from '../state/pull-request-state.ts';
import { authoriseTrigger } from './allow-list.ts';
import type { HandlerDependencies } from './handle-issue-labeled.ts';
import { revisionLimitMessage } from './messages.ts';
import { isBot, logIgnoredPull, pullOwnership, rememberDelivery, type PullRequestHeads } from './trigger-guards.ts';

export interface FeedbackTrigger {
  owner: string;
  repo: string;
  repoId: number;
  installationId: number;
  /** The pull request as GitHub describes it (payload or REST): its number, head and base. */
  pull: PullRequestHeads;
  login: string;
  userType?: string;
  event: string;
  instruction?: string;
  /** Where to put the 👀: the comment that asked. */
  react?: (content: 'eyes') => Promise<unknown>;
}

/**
 * Feedback on an ai-fix pull request from someone with write access becomes one `revise` task,
 * held for the repository's debounce window so a burst of comments is answered together.
 */
export async function requestRevision(context: Context, deps: HandlerDependencies, trigger: FeedbackTrigger): Promise<void> {
  if (isBot({ login: trigger.login, type: trigger.userType })) return;
  const pullNumber = trigger.pull.number;
  const repo = { owner: trigger.owner, repo: trigger.repo };
  const log = context.log.child({ repo: `${repo.owner}/${repo.repo}`, pull: pullNumber, deliveryId: context.id });
  const ownership = await pullOwnership(deps.redis, deps.queuePrefix, trigger.repoId, trigger.pull);
  if (!ownership.ours) {
    logIgnoredPull(log, ownership, { event: trigger.event, sender: trigger.login });
    return;
  }
  const { issueNumber } = ownership;
  const config = await authoriseTrigger(context.octokit, repo, trigger.login, log, 'feedback');
  if (!config) return;
  const revisions = config.ok ? config.config.revisions : { debounce_seconds: 60, max_per_pr: 10 };
  if (!(await rememberDelivery(deps.redis, deps.queuePrefix, context.id))) return;
  if ((await readPullRequestState(deps.redis, deps.queuePrefix, trigger.repoId, issueNumber)).revisions >= revisions.max_per_pr) {
    log.info({ max: revisions.max_per_pr }, 'revision limit reached');
    deps.background.run('revision limit comment', () =>
      context.octokit.rest.issues.createComment({ ...repo, issue_number: pullNumber, body: revisionLimitMessage(revisions.max_per_pr) }),
    );
    return;
  }
  const request: TaskRequest = {
    version: TASK_REQUEST_VERSION,
    kind: 'revise',
    repo: { id: trigger.repoId, owner: repo.owner, name: repo.repo },
    installationId: trigger.installationId,
    issueNumber,
    pullNumber,
    trigger: { login: trigger.login, event: trigger.event, deliveryId: context.id },
    options: trigger.instruction ? { instruction: trigger.instruction } : {},
    requestedAt: new Date().toISOString(),
  };
  const enqueued = await enqueueTask(deps.queue, request, { delayMs: revisions.debounce_seconds * 1000 });
  log.info({ jobId: enqueued.jobId, added: enqueued.added }, enqueued.added ? 'revision queued' : 'feedback joins the pending revision');
  if (trigger.react) deps.background.run('feedback reaction', () => trigger.react!('eyes'));
}

/** A review: changes requested, or a comment review that says something. */
export async function handleReviewSubmitted(context: Context<'pull_request_review.submitted'>, deps: HandlerDependencies): Promise<void> {
  const { payload } = context;
  const state = payload.review.state.toLowerCase();
  if (state !== 'changes_requested' && state !== 'commented') return;
  if (state === 'commented' && !payload.review.body?.trim()) {
    // Inline comments arrive as their own events; a bare comment review adds nothing else.
    return;
  }
  if (!payload.installation) return;
  await requestRevision(context, deps, { ...reviewTarget(payload, payload.installation.id, payload.review.user), event: 'pull_request_review.submitted' });
}

/** Where review feedback points, and who gave it, from a review event's payload. */
function reviewTarget(
  payload: Context<'pull_request_review.submitted' | 'pull_request_review_comment.created'>['payload'],
  installationId: number,
  user: { login: string; type?: string } | null | undefined,
): Omit<FeedbackTrigger, 'event'> {
  return {
    owner: payload.repository.owner.login,
    repo: payload.repository.name,
    repoId: payload.repository.id,
    installationId,
    pull: payload.pull_request,
    login: user?.login ?? '',
    userType: user?.type,
  };
}

export async function handleReviewComment(context: Context<'pull_request_review_comment.created'>, deps: HandlerDependencies): Promise<void> {
  const { payload } = context;
  if (!payload.installation) return;
  const target = reviewTarget(payload, payload.installation.id, payload.comment.user);
  await requestRevision(context, deps, {
    ...target,
    event: 'pull_request_review_comment.created',
    react: (content) => context.octokit.rest.reactions.createForPullRequestReviewComment({ owner: target.owner, repo: target.repo, comment_id: payload.comment.id, content }),
  });
}
