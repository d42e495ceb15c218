import type { Octokit } from '@octokit/core';
import type { IssueContext } from '../agent/prompts.ts';
import { hasWriteAccess } from './permissions.ts';
import { PROGRESS_MARKER } from './progress-render.ts';

/**
 * The issue as the agent should see it: comments only from people with write access (anyone can
 * comment on a public issue, and comments are where injections come from), no bots.
 */
export async function readIssueContext(
  octokit: Octokit & { paginate: <T>(route: string, params: Record<string, unknown>) => Promise<T[]> },
  repo: { owner: string; repo: string },
  issueNumber: number,
): Promise<IssueContext> {
  const { data: issue } = await octokit.request('GET /repos/{owner}/{repo}/issues/{issue_number}', {
    ...repo,
    issue_number: issueNumber,
  });
  const comments = await octokit.paginate<{ user: { login: string; type: string } | null; body?: string }>(
    'GET /repos/{owner}/{repo}/issues/{issue_number}/comments',
    { ...repo, issue_number: issueNumber, per_page: 100 },
  );
  const trusted = new Map<string, boolean>();
  const kept: IssueContext['comments'] = [];
  for (const comment of comments) {
    const login = comment.user?.login;
    const body = comment.body ?? '';
    if (!login || comment.user?.type === 'Bot' || body.includes(PROGRESS_MARKER)) continue;
    if (!trusted.has(login)) trusted.set(login, await hasWriteAccess(octokit, repo, login));
    if (trusted.get(login)) kept.push({ author: login, body });
  }
  return {
    repoFullName: `${repo.owner}/${repo.repo}`,
    issueNumber,
    title: issue.title,
    body: issue.body ?? '',
    comments: kept,
  };
}
