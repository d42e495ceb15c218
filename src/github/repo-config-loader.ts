import type { Octokit } from '@octokit/core';
import { config as configPlugin } from '@probot/octokit-plugin-config';
import { parseRepoConfig, REPO_CONFIG_PATH, type RepoConfigResult } from '../config/repo-config.ts';
import { errorMessage } from '../util/errors.ts';

// Probot's config loader (the same plugin behind `context.config`), so `_extends` from an org's
// `.github` repository works the way users know it.
export async function loadRepoConfig(
  octokit: Octokit,
  repo: { owner: string; repo: string },
): Promise<RepoConfigResult> {
  try {
    const { config } = await configPlugin(octokit).config.get({ ...repo, path: REPO_CONFIG_PATH });
    return parseRepoConfig(config);
  } catch (err) {
    const status = (err as { status?: number }).status;
    // A transport failure is not the user's fault: let the caller retry.
    if (status !== undefined && (status >= 500 || status === 429 || status === 403)) throw err;
    return { ok: false, error: `could not be read: ${errorMessage(err)}` };
  }
}
