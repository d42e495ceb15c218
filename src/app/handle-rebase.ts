import type { Context } from 'probot';
import { loadRepoConfig } from '../github/repo-config-loader.ts';
import { openPulls } from '../state/open-pulls.ts';
import { enqueueTask } from '../queue/task-queue.ts';
import { TASK_REQUEST_VERSION, type TaskRequest } from '../queue/task-request.ts';
import { authoriseTrigger } from './allow-list.ts';
import type { HandlerDependencies } from './handle-issue-labeled.ts';
import { isBot, logIgnoredPull, pullOwnership, rememberDelivery, type PullRequestHeads } from './trigger-guards.ts';

// GitHub works out whether a pull request still merges a few seconds after its base moves; the
// automatic task waits that long before it asks.
const MERGEABILITY_DELAY_MS = 10_000;

interface RebaseTarget {
  owner: string;
  repo: string;
  repoId: number;
  installationId: number;
  pullNumber: number;
  issueNumber: number;
  login: string;
  event: string;
  deliveryId: string;
}

function rebaseRequest(target: RebaseTarget, ifConflicting: boolean): TaskRequest {
  return {
    version: TASK_REQUEST_VERSION,
    kind: 'rebase',
    repo: { id: target.repoId, owner: target.owner, name: target.repo },
    installationId: target.installationId,
    issueNumber: target.issueNumber,
    pullNumber: target.pullNumber,
    trigger: { login: target.login, event: target.event, deliveryId: target.deliveryId },
    options: ifConflicting ? { ifConflicting } : {},
    requestedAt: new Date().toISOString(),
  };
}

/** `/ai-fix rebase` on an ai-fix pull request, from someone with write access: merge the base branch in. */
export async function requestRebase(
  context: Context<'issue_comment.created'>,
  deps: HandlerDependencies,
  pull: PullRequestHeads,
): Promise<void> {
  const { payload } = context;
  const login = payload.comment.user?.login ?? '';
  if (!payload.installation) return;
  const repo = { owner: payload.repository.owner.login, repo: payload.repository.name };
  const log = context.log.child({ repo: `${repo.owner}/${repo.repo}`, pull: pull.number, deliveryId: context.id });
  const ownership = await pullOwnership(deps.redis, deps.queuePrefix, payload.repository.id, pull);
  if (!ownership.ours) {
    logIgnoredPull(log, ownership, { event: 'issue_comment.created', sender: login });
    return;
  }
  const { issueNumber } = ownership;
  if (!(await authoriseTrigger(context.octokit, repo, login, log, '`/ai-fix rebase`'))) return;
  if (!(await rememberDelivery(deps.redis, deps.queuePrefix, context.id))) return;
  const request = rebaseRequest(
    { ...repo, repoId: payload.repository.id, installationId: payload.installation.id, pullNumber: pull.number, issueNumber, login, event: 'issue_comment.created', deliveryId: context.id },
    false,
  );
  const enqueued = await enqueueTask(deps.queue, request);
  log.info({ jobId: enqueued.jobId, added: enqueued.added }, 'rebase queued');
  deps.background.run('rebase reaction', () => context.octokit.rest.reactions.createForIssueComment({ ...repo, comment_id: payload.comment.id, content: 'eyes' }));
}

/**
 * A push to the default branch: with `rebase.auto`, every open ai-fix pull request gets a task
 * that merges the new base in if (and only if) it no longer merges cleanly.
 */
export async function handleBasePush(context: Context<'push'>, deps: HandlerDependencies): Promise<void> {
  const { payload } = context;
  const base = payload.repository.default_branch;
  const owner = payload.repository.owner?.login;
  if (!payload.installation || !owner || payload.deleted || payload.ref !== `refs/heads/${base}`) return;
  const ours = await openPulls(deps.redis, deps.queuePrefix, payload.repository.id);
  if (ours.length === 0) return;
  const repo = { owner, repo: payload.repository.name };
  const config = await loadRepoConfig(context.octokit, repo);
  if (!config.ok || !config.config.rebase.auto) return;
  if (!(await rememberDelivery(deps.redis, deps.queuePrefix, context.id))) return;
  const login = payload.sender && !isBot(payload.sender) ? payload.sender.login : 'ai-fix';
  for (const pull of ours) {
    const request = rebaseRequest(
      { ...repo, repoId: payload.repository.id, installationId: payload.installation.id, ...pull, login, event: 'push', deliveryId: context.id },
      true,
    );
    const enqueued = await enqueueTask(deps.queue, request, { delayMs: MERGEABILITY_DELAY_MS });
    context.log.info({ jobId: enqueued.jobId, added: enqueued.added, pull: pull.pullNumber }, 'base moved; conflict check queued');
  }
}
