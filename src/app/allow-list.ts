import type { Octokit } from '@octokit/core';
import type { RepoConfig, RepoConfigResult } from '../config/repo-config.ts';
import { hasWriteAccess } from '../github/permissions.ts';
import { loadRepoConfig } from '../github/repo-config-loader.ts';
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

/**
 * Whether a comment or review by `login` may make ai-fix act: write access first (before the
 * config is even read), then the allow-list when the repository's config is valid. Returns the
 * config it read, or null when `login` is refused (logged as `what` being ignored).
 */
export async function authoriseTrigger(
  octokit: Octokit,
  repo: { owner: string; repo: string },
  login: string,
  log: Logger,
  what: string,
): Promise<RepoConfigResult | null> {
  if (!(await hasWriteAccess(octokit, repo, login))) {
    log.info({ sender: login }, `${what} from someone without write access; ignored`);
    return null;
  }
  const config = await loadRepoConfig(octokit, repo);
  if (config.ok && !(await isAllowListed(octokit, config.config, repo.owner, login, log))) {
    log.info({ sender: login }, `${what} from someone outside the allow-list; ignored`);
    return null;
  }
  return config;
}
