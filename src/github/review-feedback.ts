import type { Octokit } from '@octokit/core';
import type { FeedbackItem } from '../agent/follow-ups.ts';
import { hasWriteAccess } from './permissions.ts';
import { PROGRESS_MARKER } from './progress-render.ts';

type Paginating = Octokit & { paginate: <T>(route: string, params: Record<string, unknown>) => Promise<T[]> };

interface User {
  login: string;
  type?: string;
}

export interface PullFeedback {
  items: FeedbackItem[];
  /** Reviewers who asked for changes: asked to review again after the revision. */
  reviewers: string[];
}

/**
 * What reviewers said on the pull request since `since` (ISO time): reviews with a body,
 * inline comments with their file, line and diff hunk, and conversation comments. Bots, the
 * app itself and people without write access are left out: their text never reaches the model.
 */
export async function readPullFeedback(
  octokit: Paginating,
  repo: { owner: string; repo: string },
  pullNumber: number,
  since: string | null,
): Promise<PullFeedback> {
  const params = { ...repo, pull_number: pullNumber, per_page: 100 };
  const [reviews, inline, conversation] = await Promise.all([
    octokit.paginate<{ user: User | null; body: string | null; state: string; submitted_at?: string }>('GET /repos/{owner}/{repo}/pulls/{pull_number}/reviews', params),
    octokit.paginate<{ id: number; user: User | null; body: string; created_at: string; path: string; line?: number | null; original_line?: number | null; diff_hunk: string; in_reply_to_id?: number }>('GET /repos/{owner}/{repo}/pulls/{pull_number}/comments', params),
    octokit.paginate<{ user: User | null; body?: string; created_at: string }>('GET /repos/{owner}/{repo}/issues/{issue_number}/comments', { ...repo, issue_number: pullNumber, per_page: 100 }),
  ]);
  const trusted = new Map<string, Promise<boolean>>();
  const mayWrite = (user: User | null): Promise<boolean> => {
    if (!user || user.type === 'Bot' || user.login.endsWith('[bot]')) return Promise.resolve(false);
    if (!trusted.has(user.login)) trusted.set(user.login, hasWriteAccess(octokit, repo, user.login));
    return trusted.get(user.login)!;
  };
  const isNew = (time: string | undefined) => !since || (time !== undefined && time > since);

  const items: FeedbackItem[] = [];
  const reviewers = new Set<string>();
  for (const review of reviews) {
    if (!isNew(review.submitted_at) || !(await mayWrite(review.user))) continue;
    if (review.state === 'CHANGES_REQUESTED') reviewers.add(review.user!.login);
    if (review.body?.trim()) items.push({ kind: 'review', author: review.user!.login, body: review.body, createdAt: review.submitted_at ?? '' });
  }
  for (const comment of inline) {
    if (!isNew(comment.created_at) || !(await mayWrite(comment.user))) continue;
    items.push({
      kind: 'inline',
      author: comment.user!.login,
      body: comment.body,
      createdAt: comment.created_at,
      path: comment.path,
      line: comment.line ?? comment.original_line ?? null,
      diffHunk: comment.diff_hunk,
      threadId: comment.in_reply_to_id ?? comment.id,
    });
  }
  for (const comment of conversation) {
    const body = comment.body ?? '';
    if (!isNew(comment.created_at) || body.includes(PROGRESS_MARKER) || !(await mayWrite(comment.user))) continue;
    items.push({ kind: 'comment', author: comment.user!.login, body, createdAt: comment.created_at });
  }
  items.sort((a, b) => a.createdAt.localeCompare(b.createdAt));
  return { items, reviewers: [...reviewers] };
}
