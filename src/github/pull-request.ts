import type { Octokit } from '@octokit/core';

export interface PullRequestSpec {
  owner: string;
  repo: string;
  head: string;
  base: string;
  title: string;
  body: string;
  draft: boolean;
}

export interface EnsuredPullRequest {
  number: number;
  url: string;
  created: boolean;
}

/**
 * ai-fix's own open PR for the branch: from the repository itself (a fork in the same
 * organisation has the same `owner:branch` label) and opened by an app, never a person's PR
 * that happens to use the branch.
 */
async function findOpenPull(octokit: Octokit, spec: PullRequestSpec) {
  const { data } = await octokit.request('GET /repos/{owner}/{repo}/pulls', {
    owner: spec.owner,
    repo: spec.repo,
    head: `${spec.owner}:${spec.head}`,
    state: 'open',
    per_page: 100,
  });
  const self = `${spec.owner}/${spec.repo}`.toLowerCase();
  return data.find((pull) => pull.head.repo?.full_name.toLowerCase() === self && pull.user?.type === 'Bot');
}

/** Creates the PR for the branch, or updates the open one: a rerun never makes a second PR. */
export async function ensurePullRequest(octokit: Octokit, spec: PullRequestSpec): Promise<EnsuredPullRequest> {
  const update = async (number: number): Promise<EnsuredPullRequest> => {
    const { data } = await octokit.request('PATCH /repos/{owner}/{repo}/pulls/{pull_number}', {
      owner: spec.owner,
      repo: spec.repo,
      pull_number: number,
      title: spec.title,
      body: spec.body,
    });
    return { number: data.number, url: data.html_url, created: false };
  };
  const existing = await findOpenPull(octokit, spec);
  if (existing) return update(existing.number);
  try {
    const { data } = await octokit.request('POST /repos/{owner}/{repo}/pulls', {
      owner: spec.owner,
      repo: spec.repo,
      head: spec.head,
      base: spec.base,
      title: spec.title,
      body: spec.body,
      draft: spec.draft,
      maintainer_can_modify: true,
    });
    return { number: data.number, url: data.html_url, created: true };
  } catch (err) {
    // Another run created it between our read and our write.
    if ((err as { status?: number }).status !== 422) throw err;
    const raced = await findOpenPull(octokit, spec);
    if (!raced) throw err;
    return update(raced.number);
  }
}
