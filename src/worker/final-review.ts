import type { SecretFinding } from '../security/secret-scan.ts';
import { reviewChanges } from '../workspace/review-changes.ts';
import type { Workspace } from '../workspace/prepare-workspace.ts';

export interface FinalReview {
  /** Why nothing may be pushed, for the progress comment; absent when the push may go ahead. */
  refusal?: string;
  /** What the review changed, for the pull request and the progress comment. */
  notes: string[];
}

const code = (text: string) => `\`${text.replace(/`/g, "'")}\``;

function where(finding: SecretFinding): string {
  return `${code(finding.file)} line ${finding.line} (${finding.kind})`;
}

/** Runs the last gate on this run's changes and says, in words for GitHub, what it decided. */
export async function finalReview(
  workspace: Workspace,
  protectedPaths: readonly string[],
  knownSecrets: Iterable<string>,
): Promise<FinalReview> {
  const review = await reviewChanges(workspace, { protectedPaths, knownSecrets });
  const notes = review.reverted.length
    ? [`Changes to protected paths were undone before pushing: ${review.reverted.map(code).join(', ')}. ai-fix does not change CI workflows or the paths \`.github/ai-fix.yml\` protects.`]
    : [];
  if (review.secrets.length === 0) return { notes };
  const shown = review.secrets.slice(0, 10).map(where).join('; ');
  const more = review.secrets.length > 10 ? ` and ${review.secrets.length - 10} more` : '';
  return {
    notes,
    refusal: `nothing was pushed, because the changes add what looks like a credential: ${shown}${more}. Credentials belong in the environment or a secret store, not in the repository`,
  };
}
