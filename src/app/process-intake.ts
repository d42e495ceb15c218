import type { ProbotOctokit } from 'probot';
import { hasWriteAccess } from '../github/permissions.ts';
import { loadRepoConfig } from '../github/repo-config-loader.ts';
import type { Logger } from '../util/logger.ts';
import { isAllowListed } from './allow-list.ts';
import type { HandlerDependencies } from './handle-issue-labeled.ts';
import { stoppedAfter } from '../state/cancellation.ts';
import type { IntakeOutcome, IntakeRequest } from './intake-queue.ts';
import { workKey } from '../queue/job-ids.ts';
import { badConfigMessage, notAllowedMessage, notAllowListedMessage } from './messages.ts';
import { queueSolve } from './queue-solve.ts';
import { rememberDelivery } from './trigger-guards.ts';

export interface IntakeDependencies extends HandlerDependencies {
  /** The installation's client (Probot's, which caches installation tokens). */
  auth: (installationId: number) => Promise<ProbotOctokit>;
  log: Logger;
}

/**
 * Decides a labelled issue: the repository config, the label, the sender's permission and the
 * allow-list, then a polite refusal or the solve task. A thrown error (GitHub unreachable, Redis)
 * makes BullMQ retry the whole decision; the delivery dedupe keeps a retry from commenting twice.
 * `receivedAt` is when the webhook was answered (the intake job's timestamp).
 */
export async function processIntake(request: IntakeRequest, receivedAt: number, deps: IntakeDependencies): Promise<IntakeOutcome> {
  const repo = { owner: request.repo.owner, repo: request.repo.name };
  const { issueNumber, sender, label, deliveryId } = request;
  const log = deps.log.child({ repo: `${repo.owner}/${repo.repo}`, issue: issueNumber, deliveryId });
  const octokit = await deps.auth(request.installationId);
  const comment = (description: string, body: string) =>
    deps.background.run(description, () => octokit.rest.issues.createComment({ ...repo, issue_number: issueNumber, body }));

  const config = await loadRepoConfig(octokit, repo);
  const wanted = config.ok ? config.config.label : 'ai-fix';
  if (label !== wanted) return 'other-label';
  if (!(await hasWriteAccess(octokit, repo, sender))) {
    log.info({ sender }, 'label added without write access; no task');
    if (await rememberDelivery(deps.redis, deps.queuePrefix, deliveryId)) comment('not-allowed comment', notAllowedMessage(sender, label));
    return 'not-allowed';
  }
  if (!config.ok) {
    log.info({ error: config.error }, 'invalid repository config; no task');
    if (await rememberDelivery(deps.redis, deps.queuePrefix, deliveryId)) comment('bad-config comment', badConfigMessage(config.error));
    return 'bad-config';
  }
  if (!(await isAllowListed(octokit, config.config, repo.owner, sender, log))) {
    log.info({ sender }, 'label added by someone outside the allow-list; no task');
    if (await rememberDelivery(deps.redis, deps.queuePrefix, deliveryId)) comment('not-allow-listed comment', notAllowListedMessage(sender, label));
    return 'not-allow-listed';
  }
  if (await stoppedAfter(deps.redis, deps.queuePrefix, workKey('solve', request.repo.id, issueNumber), receivedAt)) {
    log.info('the label was removed or the issue closed while the label was decided; no task');
    return 'stopped';
  }
  if (!(await rememberDelivery(deps.redis, deps.queuePrefix, deliveryId))) {
    log.info('delivery already handled; ignoring the redelivery');
    return 'redelivery';
  }
  const added = await queueSolve({ id: deliveryId, log: deps.log, octokit }, deps, {
    ...repo,
    repoId: request.repo.id,
    installationId: request.installationId,
    issueNumber,
    login: sender,
    event: 'issues.labeled',
  });
  return added ? 'queued' : 'already-queued';
}
