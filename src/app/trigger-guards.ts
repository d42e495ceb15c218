import type { Redis } from 'ioredis';
import { openPulls } from '../state/open-pulls.ts';
import type { Logger } from '../util/logger.ts';
import { issueOfTaskBranch } from './commands.ts';

const DELIVERY_TTL_SECONDS = 24 * 3600;

/** Bots never trigger work. A `[bot]` suffix is a GitHub App's mark; type is checked too. */
export function isBot(user: { login: string; type?: string } | null | undefined): boolean {
  return !user || user.type === 'Bot' || user.login.endsWith('[bot]');
}

/** True the first time a delivery id is seen within a day; GitHub redelivers on timeouts. */
export async function rememberDelivery(redis: Redis, prefix: string, deliveryId: string): Promise<boolean> {
  return (await redis.set(`${prefix}:delivery:${deliveryId}`, '1', 'EX', DELIVERY_TTL_SECONDS, 'NX')) === 'OK';
}

export async function forgetDelivery(redis: Redis, prefix: string, deliveryId: string): Promise<void> {
  await redis.del(`${prefix}:delivery:${deliveryId}`);
}

/** The parts of a pull request (webhook payload or REST answer) that say whose branch it is. */
export interface PullRequestHeads {
  number: number;
  head: { ref: string; repo: { id: number } | null };
  base: { repo: { id: number } | null };
}

export type PullOwnership =
  | { ours: true; issueNumber: number }
  /** `quiet`: an ordinary branch, not worth an info line on every review of every pull request. */
  | { ours: false; reason: string; quiet?: boolean };

/**
 * Whether a pull request is one ai-fix opened and may work on. Its head must be the repository
 * itself: for a fork, ai-fix would push the fork's commits (or its own work) to a same-named
 * branch of the base repository. And ai-fix must have opened it (the open-pulls set), or anyone
 * who can push an `ai-fix/issue-N` branch could direct the agent.
 */
export async function pullOwnership(redis: Redis, prefix: string, repoId: number, pull: PullRequestHeads): Promise<PullOwnership> {
  const issueNumber = issueOfTaskBranch(pull.head.ref);
  if (issueNumber === null) return { ours: false, reason: 'ignored: pull request branch is not an ai-fix branch', quiet: true };
  if (pull.head.repo === null) return { ours: false, reason: 'ignored: pull request head is a deleted fork' };
  if (pull.base.repo?.id !== repoId) return { ours: false, reason: 'ignored: pull request is into another repository' };
  if (pull.head.repo.id !== repoId) return { ours: false, reason: 'ignored: pull request head is a fork' };
  const opened = await openPulls(redis, prefix, repoId);
  if (!opened.some((p) => p.pullNumber === pull.number && p.issueNumber === issueNumber)) {
    return { ours: false, reason: 'ignored: not an open pull request opened by ai-fix' };
  }
  return { ours: true, issueNumber };
}

/** One line saying why a pull request was left alone: info, unless it is an ordinary branch. */
export function logIgnoredPull(log: Logger, ownership: Extract<PullOwnership, { ours: false }>, fields: Record<string, unknown> = {}): void {
  if (ownership.quiet) log.debug(fields, ownership.reason);
  else log.info(fields, ownership.reason);
}
