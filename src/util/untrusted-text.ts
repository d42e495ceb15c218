import { removeInvisible } from './display-text.ts';

// Text written by strangers (issue bodies, comments) reaches the model only through here:
// hidden content a human reviewer would not see on GitHub is removed, since that is where
// prompt injections hide.
const HTML_COMMENT = /<!--[\s\S]*?(?:-->|$)/g;
const HIDDEN_TAGS = /<(details|summary)[^>]*>|<\/(details|summary)>|<[^>]+\b(hidden|display:\s*none)[^>]*>[\s\S]*?<\/[^>]+>/gi;

export function cleanUntrustedText(text: string, maxChars = 30_000): string {
  const cleaned = removeInvisible(text.replace(HTML_COMMENT, '')).replace(HIDDEN_TAGS, '').replace(/\r\n/g, '\n').trim();
  return cleaned.length > maxChars ? `${cleaned.slice(0, maxChars)}\n… (truncated)` : cleaned;
}
