import { lintSource } from '@secretlint/core';
import { rules as recommendedRules } from '@secretlint/secretlint-rule-preset-recommend';
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

const OWN_SECRET = 'a credential of this ai-fix installation';

/** Whether a line holds one of the installation's own secrets, whatever their shape. */
function ownSecretIn(line: string, knownSecrets: readonly string[]): string | null {
  return knownSecrets.some((secret) => secret.length >= 8 && line.includes(secret)) ? OWN_SECRET : null;
}

/** What kind of credential a line holds by ai-fix's own rules, or null. */
export function credentialIn(line: string, knownSecrets: readonly string[] = []): string | null {
  const own = ownSecretIn(line, knownSecrets);
  if (own) return own;
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

export interface AddedLine {
  line: number;
  text: string;
}

/**
 * The lines a unified diff (`git diff -U0`) adds, per file. Headers are read only between
 * `diff --git` and the first hunk, so an added line that starts with `++` cannot pose as one.
 * Binary files have no lines in the diff.
 */
export function addedLines(diff: string): Map<string, AddedLine[]> {
  const files = new Map<string, AddedLine[]>();
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
      const added = files.get(file) ?? [];
      added.push({ line, text: text.slice(1) });
      files.set(file, added);
      line++;
    } else if (text.startsWith(' ')) {
      line++;
    }
  }
  return files;
}

// secretlint's recommended rules, each registered on its own, without the one that honours
// `secretlint-disable` comments: the text being scanned is the agent's, and it must not be able
// to switch the scan off. (Disabling that rule inside the preset does not take effect in
// secretlint 13, hence one entry per rule.)
const SECRETLINT_CONFIG: Parameters<typeof lintSource>[0]['options']['config'] = {
  rules: recommendedRules.filter((rule) => rule.meta.id !== '@secretlint/secretlint-rule-filter-comments').map((rule) => ({ id: rule.meta.id, rule })),
};

/**
 * What secretlint found, in its words, cut before anything that could hold the value ("found
 * GitHub Token(…): …" → "GitHub Token"; its values are masked as well).
 */
function secretlintKind(message: string, messageId: string): string {
  const named = /^found (?:an? )?([^(:]+?)\s*(?:[(:]|$)/i.exec(message)?.[1];
  return named && named.length <= 60 ? named : messageId;
}

/** secretlint's findings in a file's added lines, by line number: the rule and what it found, never the value. */
export async function secretlintFindings(file: string, lines: AddedLine[]): Promise<Map<number, string>> {
  const result = await lintSource({
    source: { filePath: file, content: lines.map((l) => l.text).join('\n'), contentType: 'text' },
    options: { config: SECRETLINT_CONFIG, maskSecrets: true, noPhysicFilePath: true },
  });
  const found = new Map<number, string>();
  for (const message of result.messages) {
    const at = lines[message.loc.start.line - 1];
    if (at && !found.has(at.line)) found.set(at.line, secretlintKind(message.message, message.messageId));
  }
  return found;
}

/**
 * Credentials in the lines a diff adds, one finding per line: the installation's own secrets
 * first, then secretlint's recommended rules (many credential kinds), then ai-fix's own token
 * shapes and the random-value rule for what those miss.
 */
export async function scanDiff(diff: string, knownSecrets: Iterable<string> = []): Promise<SecretFinding[]> {
  const secrets = [...knownSecrets];
  const findings: SecretFinding[] = [];
  for (const [file, lines] of addedLines(diff)) {
    const fromSecretlint = await secretlintFindings(file, lines);
    for (const { line, text } of lines) {
      const own = ownSecretIn(text, secrets);
      const kind = own ?? fromSecretlint.get(line) ?? credentialIn(text);
      if (kind) findings.push({ file, line, kind });
    }
  }
  return findings;
}
