import type { Context } from 'probot';
import type { Redis } from 'ioredis';
import { hasWriteAccess } from '../github/permissions.ts';
import { loadRepoConfig } from '../github/repo-config-loader.ts';
import type { TaskQueue } from '../queue/task-queue.ts';
import { isAllowListed } from './allow-list.ts';
import type { BackgroundWrites } from './background-writes.ts';
import { badConfigMessage, notAllowedMessage, notAllowListedMessage } from './messages.ts';
import { queueSolve } from './queue-solve.ts';
import { isBot, rememberDelivery } from './trigger-guards.ts';

export interface HandlerDependencies {
  queue: TaskQueue;
  redis: Redis;
  queuePrefix: string;
  background: BackgroundWrites;
  /** Where people reach the dashboard; progress comments link to the task's page when set. */
  publicUrl?: string;
}

/** `issues.labeled`: decide, check permission (a read), enqueue, answer; writes come after. */
export async function handleIssueLabeled(context: Context<'issues.labeled'>, deps: HandlerDependencies): Promise<void> {
  const { payload } = context;
  const label = payload.label?.name;
  const sender = payload.sender;
  if (!label || !payload.installation || isBot(sender)) return;
  const repo = { owner: payload.repository.owner.login, repo: payload.repository.name };
  const issueNumber = payload.issue.number;
  const log = context.log.child({ repo: `${repo.owner}/${repo.repo}`, issue: issueNumber, deliveryId: context.id });

  const config = await loadRepoConfig(context.octokit, repo);
  const wanted = config.ok ? config.config.label : 'ai-fix';
  if (label !== wanted) return;
  if (!(await hasWriteAccess(context.octokit, repo, sender.login))) {
    log.info({ sender: sender.login }, 'label added without write access; no task');
    if (await rememberDelivery(deps.redis, deps.queuePrefix, context.id)) {
      deps.background.run('not-allowed comment', () =>
        context.octokit.rest.issues.createComment({ ...repo, issue_number: issueNumber, body: notAllowedMessage(sender.login, label) }),
      );
    }
    return;
  }
  if (!config.ok) {
    log.info({ error: config.error }, 'invalid repository config; no task');
    if (await rememberDelivery(deps.redis, deps.queuePrefix, context.id)) {
      deps.background.run('bad-config comment', () =>
        context.octokit.rest.issues.createComment({ ...repo, issue_number: issueNumber, body: badConfigMessage(config.error) }),
      );
    }
    return;
  }
  if (!(await isAllowListed(context.octokit, config.config, repo.owner, sender.login, log))) {
    log.info({ sender: sender.login }, 'label added by someone outside the allow-list; no task');
    if (await rememberDelivery(deps.redis, deps.queuePrefix, context.id)) {
      deps.background.run('not-allow-listed comment', () =>
        context.octokit.rest.issues.createComment({ ...repo, issue_number: issueNumber, body: notAllowListedMessage(sender.login, label) }),
      );
    }
    return;
  }
  if (!(await rememberDelivery(deps.redis, deps.queuePrefix, context.id))) {
    log.info('delivery already handled; ignoring the redelivery');
    return;
  }

  await queueSolve(context, deps, {
    ...repo,
    repoId: payload.repository.id,
    installationId: payload.installation.id,
    issueNumber,
    login: sender.login,
    event: 'issues.labeled',
  });
}
