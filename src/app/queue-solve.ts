import type { Context } from 'probot';
import { ensureProgressComment } from '../github/progress-comment.ts';
import { renderProgress } from '../github/progress-render.ts';
import { taskPageUrl } from '../observability/dashboard-links.ts';
import { enqueueTask } from '../queue/task-queue.ts';
import { TASK_REQUEST_VERSION, type TaskRequest } from '../queue/task-request.ts';
import { progressKey } from '../state/progress-key.ts';
import type { HandlerDependencies } from './handle-issue-labeled.ts';
import { forgetDelivery } from './trigger-guards.ts';

export interface SolveTrigger {
  owner: string;
  repo: string;
  repoId: number;
  installationId: number;
  issueNumber: number;
  login: string;
  event: string;
  instruction?: string;
}

/**
 * Queues a `solve` task for an authorised trigger and answers whether it was added; the 👀 and
 * the progress comment are written afterwards, off the webhook's request path. `context` is the
 * webhook's, or the intake's stand-in for it (delivery id, log, installation client).
 */
export async function queueSolve(context: Pick<Context, 'id' | 'log' | 'octokit'>, deps: HandlerDependencies, trigger: SolveTrigger): Promise<boolean> {
  const repo = { owner: trigger.owner, repo: trigger.repo };
  const request: TaskRequest = {
    version: TASK_REQUEST_VERSION,
    kind: 'solve',
    repo: { id: trigger.repoId, owner: trigger.owner, name: trigger.repo },
    installationId: trigger.installationId,
    issueNumber: trigger.issueNumber,
    trigger: { login: trigger.login, event: trigger.event, deliveryId: context.id },
    options: trigger.instruction ? { instruction: trigger.instruction } : {},
    requestedAt: new Date().toISOString(),
  };
  let enqueued;
  try {
    enqueued = await enqueueTask(deps.queue, request);
  } catch (err) {
    // Let GitHub's redelivery (or ours) try again.
    await forgetDelivery(deps.redis, deps.queuePrefix, context.id).catch(() => {});
    throw err;
  }
  const log = context.log.child({ repo: `${repo.owner}/${repo.repo}`, issue: trigger.issueNumber, deliveryId: context.id });
  log.info({ jobId: enqueued.jobId, added: enqueued.added }, enqueued.added ? 'task queued' : 'task already queued or running');
  if (!enqueued.added) return false;

  deps.background.run('acknowledge', async () => {
    await context.octokit.rest.reactions.createForIssue({ ...repo, issue_number: trigger.issueNumber, content: 'eyes' });
    await ensureProgressComment(
      context.octokit,
      { redis: deps.redis, key: progressKey(deps.queuePrefix, enqueued.jobId) },
      { ...repo, issueNumber: trigger.issueNumber },
      renderProgress({ stage: 'queued', ...(deps.publicUrl ? { taskPageUrl: taskPageUrl(deps.publicUrl, enqueued.jobId) } : {}) }),
      { createOnly: true },
    );
  });
  return true;
}
