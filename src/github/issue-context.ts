import type { Octokit } from '@octokit/core';
import type { IssueContext } from '../agent/prompts.ts';
import { COMMENT_MAX_CHARS, untrustedTextCut } from '../util/untrusted-text.ts';
import { formatNumber } from '../util/markdown.ts';
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
    labels: issue.labels.map((label) => (typeof label === 'string' ? label : label.name ?? '')),
  };
}

/** What of the issue the agent did not see, in words for the progress comment and the PR body. */
export function issueCutNotes(issue: Pick<IssueContext, 'body' | 'comments'>): string[] {
  const notes: string[] = [];
  const body = untrustedTextCut(issue.body);
  if (body) {
    notes.push(`The issue's description is ${formatNumber(body.total)} characters long: the agent saw only the first ${formatNumber(body.shown)} (the rest was cut, and the agent was told so).`);
  }
  const cut = issue.comments.filter((comment) => untrustedTextCut(comment.body, COMMENT_MAX_CHARS));
  if (cut.length) {
    notes.push(`${cut.length === 1 ? 'One comment is' : `${cut.length} comments are`} longer than ${formatNumber(COMMENT_MAX_CHARS)} characters: the agent saw only the first ${formatNumber(COMMENT_MAX_CHARS)} of each.`);
  }
  return notes;
}
