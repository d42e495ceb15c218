import type { Octokit } from '@octokit/core';

/** Whether anything will check the pull request besides ai-fix's own local test run. */
export type CiPresence = { configured: true; source: string } | { configured: false };

// CI systems that report to GitHub as checks or statuses, found by their configuration files.
const CI_FILES = ['.circleci/config.yml', '.travis.yml', 'Jenkinsfile', 'azure-pipelines.yml', '.buildkite/pipeline.yml', '.drone.yml'];

const WORKFLOW = /^\.github\/workflows\/[^/]+\.ya?ml$/;

/**
 * Looks for CI in the files of the branch (workflow or CI config files, as committed: never on
 * the agent's disk), then for checks or statuses that anything reported on the base branch's
 * latest commit.
 */
export async function detectCi(octokit: Octokit, repo: { owner: string; repo: string }, base: string, files: readonly string[]): Promise<CiPresence> {
  if (files.some((file) => WORKFLOW.test(file))) return { configured: true, source: 'GitHub Actions workflows' };
  const found = CI_FILES.find((file) => files.includes(file));
  if (found) return { configured: true, source: `\`${found}\`` };
  const runs = await octokit.request('GET /repos/{owner}/{repo}/commits/{ref}/check-runs', { ...repo, ref: base, per_page: 1 });
  if (runs.data.total_count > 0) return { configured: true, source: `checks on \`${base}\`` };
  const status = await octokit.request('GET /repos/{owner}/{repo}/commits/{ref}/status', { ...repo, ref: base, per_page: 1 });
  if (status.data.total_count > 0) return { configured: true, source: `commit statuses on \`${base}\`` };
  return { configured: false };
}
