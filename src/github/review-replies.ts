import type { Octokit } from '@octokit/core';
import type { FeedbackItem } from '../agent/follow-ups.ts';

export interface RevisionAnswer {
  owner: string;
  repo: string;
  pullNumber: number;
  feedback: FeedbackItem[];
  /** The revision's commit, or null when nothing was pushed. */
  sha: string | null;
  summary: string;
  reviewers: string[];
}

function firstParagraph(text: string): string {
  return (text.trim().split(/\n\s*\n/)[0] ?? '').slice(0, 1000);
}

/** Replies in each review thread the revision answered, then asks the reviewers to look again. */
export async function answerReviewers(octokit: Octokit, answer: RevisionAnswer): Promise<void> {
  const threads = [...new Set(answer.feedback.flatMap((item) => (item.threadId ? [item.threadId] : [])))];
  const reply = answer.sha
    ? `Addressed in ${answer.sha.slice(0, 7)}. ${firstParagraph(answer.summary)}`
    : `No change was pushed for this: ${firstParagraph(answer.summary)}`;
  for (const threadId of threads) {
    await octokit.request('POST /repos/{owner}/{repo}/pulls/{pull_number}/comments/{comment_id}/replies', {
      owner: answer.owner,
      repo: answer.repo,
      pull_number: answer.pullNumber,
      comment_id: threadId,
      body: reply,
    });
  }
  if (answer.sha && answer.reviewers.length) {
    try {
      await octokit.request('POST /repos/{owner}/{repo}/pulls/{pull_number}/requested_reviewers', {
        owner: answer.owner,
        repo: answer.repo,
        pull_number: answer.pullNumber,
        reviewers: answer.reviewers,
      });
    } catch (err) {
      // A reviewer who lost access, or the PR's author, cannot be asked; the replies stand.
      if ((err as { status?: number }).status !== 422) throw err;
    }
  }
}
