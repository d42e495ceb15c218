import type { Octokit } from '@octokit/core';
import type { RepoConfig } from '../config/repo-config.ts';
import { teamMembership } from '../github/team-membership.ts';
import type { Logger } from '../util/logger.ts';

/**
 * The repository's optional allow-list (`allowed_users`, `allowed_teams`), checked on top of
 * write permission: with neither list set everyone with write access may start a task.
 */
export async function isAllowListed(
  octokit: Octokit,
  config: Pick<RepoConfig, 'allowed_users' | 'allowed_teams'>,
  repoOwner: string,
  login: string,
  log: Logger,
): Promise<boolean> {
  if (config.allowed_users.length === 0 && config.allowed_teams.length === 0) return true;
  const lower = login.toLowerCase();
  if (config.allowed_users.some((user) => user.toLowerCase() === lower)) return true;
  for (const entry of config.allowed_teams) {
    const [org, slug] = entry.includes('/') ? entry.split('/', 2) : [repoOwner, entry];
    if (!org || !slug) continue;
    const membership = await teamMembership(octokit, { org, slug }, login);
    if (membership === 'member') return true;
    if (membership === 'unreadable') {
      log.warn({ team: `${org}/${slug}` }, 'cannot read team membership: the app needs the organisation permission "Members: read"');
    }
  }
  return false;
}
