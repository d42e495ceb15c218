// What a comment asks of ai-fix: `/ai-fix stop`, `/ai-fix rebase`, `/ai-fix <instruction>` on a
// line of its own, or a mention of the app anywhere.
export type Command =
  | { type: 'stop' }
  | { type: 'rebase' }
  | { type: 'instruction'; text: string }
  | { type: 'mention'; text: string };

const SLASH = /^[ \t]*\/ai-fix\b[ \t]*(.*)$/im;

export function parseCommand(body: string, appSlug?: string): Command | null {
  const slash = SLASH.exec(body);
  if (slash) {
    const rest = (slash[1] ?? '').trim();
    if (/^stop\b/i.test(rest)) return { type: 'stop' };
    if (/^rebase\b/i.test(rest)) return { type: 'rebase' };
    return { type: 'instruction', text: rest };
  }
  if (appSlug && new RegExp(`(^|[^\\w-])@${appSlug.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}(\\[bot\\])?\\b`, 'i').test(body)) {
    return { type: 'mention', text: body.trim() };
  }
  return null;
}

const TASK_BRANCH = /^ai-fix\/issue-(\d+)$/;

/** The issue an ai-fix branch works on, or null for branches that are not ai-fix's. */
export function issueOfTaskBranch(ref: string): number | null {
  const match = TASK_BRANCH.exec(ref);
  return match ? Number(match[1]) : null;
}
