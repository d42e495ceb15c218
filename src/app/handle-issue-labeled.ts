import type { Context } from 'probot';
import type { Redis } from 'ioredis';
import type { TaskQueue } from '../queue/task-queue.ts';
import type { BackgroundWrites } from './background-writes.ts';
import { queueIntake, type IntakeQueue } from './intake-queue.ts';
import { isBot } from './trigger-guards.ts';

export interface HandlerDependencies {
  queue: TaskQueue;
  /** Labels waiting for their decision (config, permission, allow-list). */
  intake: IntakeQueue;
  redis: Redis;
  queuePrefix: string;
  background: BackgroundWrites;
  /** Where people reach the dashboard; progress comments link to the task's page when set. */
  publicUrl?: string;
}

/**
 * `issues.labeled`: one durable write and the answer. The reads that decide it (config,
 * permission, allow-list) run in the intake (`process-intake.ts`), off the request path; a
 * failed write fails the delivery, so GitHub can redeliver it.
 */
export async function handleIssueLabeled(context: Context<'issues.labeled'>, deps: HandlerDependencies): Promise<void> {
  const { payload } = context;
  const label = payload.label?.name;
  if (!label || !payload.installation || isBot(payload.sender)) return;
  await queueIntake(deps.intake, {
    deliveryId: context.id,
    repo: { id: payload.repository.id, owner: payload.repository.owner.login, name: payload.repository.name },
    installationId: payload.installation.id,
    issueNumber: payload.issue.number,
    label,
    sender: payload.sender.login,
  });
}
