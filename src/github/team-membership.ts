import type { Octokit } from '@octokit/core';

export type TeamMembership = 'member' | 'not-member' | 'unreadable';

/**
 * Active membership of `login` in a team, asked of the API. Reading it needs the app's
 * organisation "Members: read" permission; without it GitHub answers 403 (`unreadable`).
 */
export async function teamMembership(
  octokit: Octokit,
  team: { org: string; slug: string },
  login: string,
): Promise<TeamMembership> {
  try {
    const { data } = await octokit.request('GET /orgs/{org}/teams/{team_slug}/memberships/{username}', {
      org: team.org,
      team_slug: team.slug,
      username: login,
    });
    // An invitation that was not accepted yet is `pending`: not a member.
    return data.state === 'active' ? 'member' : 'not-member';
  } catch (err) {
    const status = (err as { status?: number }).status;
    if (status === 404) return 'not-member';
    if (status === 403) return 'unreadable';
    throw err;
  }
}
