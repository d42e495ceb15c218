import { removeInvisible } from './display-text.ts';

// Text written by strangers (issue bodies, comments) reaches the model only through here:
// hidden content a human reviewer would not see on GitHub is removed, since that is where
// prompt injections hide.
const HTML_COMMENT = /<!--[\s\S]*?(?:-->|$)/g;
const HIDDEN_TAGS = /<(details|summary)[^>]*>|<\/(details|summary)>|<[^>]+\b(hidden|display:\s*none)[^>]*>[\s\S]*?<\/[^>]+>/gi;

/** How much of an issue's description the model sees. */
export const ISSUE_BODY_MAX_CHARS = 30_000;
/** How much of one comment the model sees. */
export const COMMENT_MAX_CHARS = 5_000;

const count = (n: number) => n.toLocaleString('en-US');

function visibleText(text: string): string {
  return removeInvisible(text.replace(HTML_COMMENT, '')).replace(HIDDEN_TAGS, '').replace(/\r\n/g, '\n').trim();
}

/** How much of `text` a cut to `maxChars` leaves out: null when none. */
export function untrustedTextCut(text: string, maxChars = ISSUE_BODY_MAX_CHARS): { shown: number; total: number } | null {
  const total = visibleText(text).length;
  return total > maxChars ? { shown: maxChars, total } : null;
}

/** The model is told where and how much was cut, so it does not take a part for the whole. */
export function cleanUntrustedText(text: string, maxChars = ISSUE_BODY_MAX_CHARS): string {
  const cleaned = visibleText(text);
  if (cleaned.length <= maxChars) return cleaned;
  return `${cleaned.slice(0, maxChars)}\n… [cut here: this text is ${count(cleaned.length)} characters long; only the first ${count(maxChars)} are shown, the remaining ${count(cleaned.length - maxChars)} were left out]`;
}
