import fs from 'node:fs/promises';
import path from 'node:path';
import type { Octokit } from '@octokit/core';

/** Whether anything will check the pull request besides ai-fix's own local test run. */
export type CiPresence = { configured: true; source: string } | { configured: false };

// CI systems that report to GitHub as checks or statuses, found by their configuration files.
const CI_FILES = ['.circleci/config.yml', '.travis.yml', 'Jenkinsfile', 'azure-pipelines.yml', '.buildkite/pipeline.yml', '.drone.yml'];

async function hasWorkflows(dir: string): Promise<boolean> {
  const entries = await fs.readdir(path.join(dir, '.github', 'workflows')).catch(() => [] as string[]);
  return entries.some((name) => /\.ya?ml$/.test(name));
}

/**
 * Looks for CI in the checkout (workflow or CI config files), then for checks or statuses that
 * anything reported on the base branch's latest commit.
 */
export async function detectCi(octokit: Octokit, repo: { owner: string; repo: string }, base: string, checkout: string): Promise<CiPresence> {
  if (await hasWorkflows(checkout)) return { configured: true, source: 'GitHub Actions workflows' };
  for (const file of CI_FILES) {
    if (await fs.stat(path.join(checkout, file)).then(() => true, () => false)) return { configured: true, source: `\`${file}\`` };
  }
  const runs = await octokit.request('GET /repos/{owner}/{repo}/commits/{ref}/check-runs', { ...repo, ref: base, per_page: 1 });
  if (runs.data.total_count > 0) return { configured: true, source: `checks on \`${base}\`` };
  const status = await octokit.request('GET /repos/{owner}/{repo}/commits/{ref}/status', { ...repo, ref: base, per_page: 1 });
  if (status.data.total_count > 0) return { configured: true, source: `commit statuses on \`${base}\`` };
  return { configured: false };
}
