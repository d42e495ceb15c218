import { TOKEN_SHAPES } from '../util/redact.ts';

// Finds credentials in the lines a diff adds, before anything is pushed. A finding names the
// file, the line and the kind of credential, never the value.
export interface SecretFinding {
  file: string;
  line: number;
  kind: string;
}

const PRIVATE_KEY_LINE = /-----BEGIN [A-Z ]*PRIVATE KEY(?: BLOCK)?-----/;

// `password = "…"`, `API_KEY=…`, `"clientSecret": "…"`: a name that says secret, then a value.
const ASSIGNMENT =
  /([A-Za-z0-9_.-]*(?:passw(?:or)?d|pwd|secret|token|api[_-]?key|apikey|access[_-]?key|private[_-]?key|auth[_-]?key|credential)[A-Za-z0-9_.-]*)["']?\s*(?:=|:=|:|=>)\s*["'`]?([^\s"'`,;()<>{}[\]]{16,})/gi;

// Values that name a secret instead of holding one: env lookups, dotted references, paths and
// URLs, placeholders.
const REFERENCE = /^(?:\$|%|process\.env|os\.environ|env\.|ENV\[|getenv|System\.getenv|[/~.]|[A-Za-z][A-Za-z0-9+.-]*:\/\/)|^[A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)+$|^(?:x+|\*+|changeme|placeholder|redacted|example)/i;

/** Bits per character of the value's own alphabet: random keys score high, words and repetition low. */
export function shannonEntropy(value: string): number {
  const counts = new Map<string, number>();
  for (const c of value) counts.set(c, (counts.get(c) ?? 0) + 1);
  let bits = 0;
  for (const count of counts.values()) {
    const p = count / value.length;
    bits -= p * Math.log2(p);
  }
  return bits;
}

function looksRandom(value: string): boolean {
  if (REFERENCE.test(value)) return false;
  const classes = [/[a-z]/, /[A-Z]/, /[0-9]/, /[^A-Za-z0-9]/].filter((re) => re.test(value)).length;
  return classes >= 2 && shannonEntropy(value) >= 3.5;
}

/** What kind of credential a line holds, or null. */
export function credentialIn(line: string, knownSecrets: Iterable<string> = []): string | null {
  for (const secret of knownSecrets) {
    if (secret.length >= 8 && line.includes(secret)) return 'a credential of this ai-fix installation';
  }
  if (PRIVATE_KEY_LINE.test(line)) return 'private key';
  for (const { kind, pattern } of TOKEN_SHAPES) {
    if (new RegExp(pattern.source, pattern.flags.replace('g', '')).test(line)) return kind;
  }
  for (const match of line.matchAll(ASSIGNMENT)) {
    if (looksRandom(match[2] ?? '')) return `random-looking value assigned to \`${match[1]}\``;
  }
  return null;
}

/** The path in a `+++ b/<path>` header; git quotes unusual names C-style. */
function headerPath(header: string): string | null {
  const raw = header.slice(4);
  if (raw === '/dev/null') return null;
  const unquoted = raw.startsWith('"') ? raw.slice(1, -1).replace(/\\(.)/g, '$1') : raw;
  return unquoted.replace(/^b\//, '');
}

/**
 * Scans a unified diff (`git diff -U0`) for credentials in added lines. Headers are read only
 * between `diff --git` and the first hunk, so an added line that starts with `++` cannot pose
 * as one. Binary files have no lines in the diff and are not scanned.
 */
export function scanDiff(diff: string, knownSecrets: Iterable<string> = []): SecretFinding[] {
  const secrets = [...knownSecrets];
  const findings: SecretFinding[] = [];
  let file: string | null = null;
  let inHeader = false;
  let line = 0;
  for (const text of diff.split('\n')) {
    if (text.startsWith('diff --git ')) {
      inHeader = true;
      file = null;
      continue;
    }
    const hunk = /^@@ -\d+(?:,\d+)? \+(\d+)(?:,\d+)? @@/.exec(text);
    if (hunk) {
      inHeader = false;
      line = Number(hunk[1]);
      continue;
    }
    if (inHeader) {
      if (text.startsWith('+++ ')) file = headerPath(text);
      continue;
    }
    if (file === null) continue;
    if (text.startsWith('+')) {
      const kind = credentialIn(text.slice(1), secrets);
      if (kind) findings.push({ file, line, kind });
      line++;
    } else if (text.startsWith(' ')) {
      line++;
    }
  }
  return findings;
}
