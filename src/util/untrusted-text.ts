// Text written by strangers (issue bodies, comments) reaches the model only through here:
// hidden content a human reviewer would not see on GitHub is removed, since that is where
// prompt injections hide.
const HTML_COMMENT = /<!--[\s\S]*?(?:-->|$)/g;
const INVISIBLE = /[\u200B-\u200F\u202A-\u202E\u2060-\u2064\u2066-\u2069\uFEFF\u00AD]/g;
const HIDDEN_TAGS = /<(details|summary)[^>]*>|<\/(details|summary)>|<[^>]+\b(hidden|display:\s*none)[^>]*>[\s\S]*?<\/[^>]+>/gi;

export function cleanUntrustedText(text: string, maxChars = 30_000): string {
  const cleaned = text.replace(HTML_COMMENT, '').replace(INVISIBLE, '').replace(HIDDEN_TAGS, '').replace(/\r\n/g, '\n').trim();
  return cleaned.length > maxChars ? `${cleaned.slice(0, maxChars)}\n… (truncated)` : cleaned;
}
