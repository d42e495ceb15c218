import type { Octokit } from '@octokit/core';

const WRITE_ROLES = new Set(['admin', 'maintain', 'write']);

/** Write, maintain or admin on the repository, asked of the API (never inferred from a name). */
export async function hasWriteAccess(
  octokit: Octokit,
  repo: { owner: string; repo: string },
  login: string,
): Promise<boolean> {
  try {
    const { data } = await octokit.request(
      'GET /repos/{owner}/{repo}/collaborators/{username}/permission',
      { ...repo, username: login },
    );
    const role = (data as { role_name?: string }).role_name ?? data.permission;
    return WRITE_ROLES.has(role) || WRITE_ROLES.has(data.permission);
  } catch (err) {
    if ((err as { status?: number }).status === 404) return false;
    throw err;
  }
}
