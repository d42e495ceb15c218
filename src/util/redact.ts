// Every string that leaves the worker (logs, comments, PR bodies, transcripts, what the model
// reads) passes through here: known secret values are replaced exactly, and token shapes are
// caught by pattern so a secret we were never told about (one printed by a test script, say)
// is still hidden.

/** Credentials recognisable by their shape; the secret scanner reports them by `kind`. */
export const TOKEN_SHAPES: ReadonlyArray<{ kind: string; pattern: RegExp }> = [
  // An unterminated key (cut output) is hidden to the end.
  { kind: 'private key', pattern: /-----BEGIN [A-Z ]*PRIVATE KEY(?: BLOCK)?-----[\s\S]*?(?:-----END [A-Z ]*PRIVATE KEY(?: BLOCK)?-----|$)/g },
  { kind: 'GitHub token', pattern: /\b(?:ghp|gho|ghu|ghs|ghr)_[A-Za-z0-9]{20,}\b/g },
  { kind: 'GitHub token', pattern: /\bgithub_pat_[A-Za-z0-9_]{20,}\b/g },
  { kind: 'GitLab token', pattern: /\bglpat-[A-Za-z0-9_-]{20,}\b/g },
  { kind: 'API key (sk-)', pattern: /\bsk-(?:proj-|svcacct-|admin-|ant-)?[A-Za-z0-9_-]{20,}\b/g },
  { kind: 'Stripe key', pattern: /\b[rs]k_live_[A-Za-z0-9]{20,}\b/g },
  { kind: 'Slack token', pattern: /\bxox[abposr]-[A-Za-z0-9-]{10,}\b/g },
  { kind: 'Slack token', pattern: /\bxapp-\d-[A-Za-z0-9-]{10,}\b/g },
  { kind: 'AWS access key id', pattern: /\b(?:AKIA|ASIA)[0-9A-Z]{16}\b/g },
  { kind: 'Google API key', pattern: /\bAIza[0-9A-Za-z_-]{35}\b/g },
  { kind: 'npm token', pattern: /\bnpm_[A-Za-z0-9]{36}\b/g },
  { kind: 'JSON web token', pattern: /\beyJ[A-Za-z0-9_-]{10,}\.eyJ[A-Za-z0-9_-]{10,}\.[A-Za-z0-9_-]{10,}\b/g },
];

// Credentials inside text whose label should stay readable.
const LABELLED: RegExp[] = [
  /(x-access-token:)[^@\s]+(@)/g,
  /(Authorization:\s*(?:Basic|Bearer|token)\s+)[A-Za-z0-9+/=._-]+/gi,
];

export const REDACTED = '[REDACTED]';

export function redact(text: string, knownSecrets: Iterable<string> = []): string {
  let out = text;
  for (const secret of knownSecrets) {
    // Short values would blank out ordinary words; real secrets are long.
    if (secret.length >= 8) out = out.split(secret).join(REDACTED);
  }
  for (const { pattern } of TOKEN_SHAPES) out = out.replace(pattern, REDACTED);
  for (const pattern of LABELLED) {
    out = out.replace(pattern, (_match, prefix: string, suffix?: unknown) => `${prefix}${REDACTED}${typeof suffix === 'string' ? suffix : ''}`);
  }
  return out;
}

/** Redacts every string inside a JSON-like value, leaving its shape intact (and anything not plain data alone). */
export function redactDeep<T>(value: T, knownSecrets: Iterable<string> = []): T {
  const secrets = [...knownSecrets];
  const walk = (v: unknown, depth: number): unknown => {
    if (typeof v === 'string') return redact(v, secrets);
    if (depth > 8 || v === null || typeof v !== 'object') return v;
    if (Array.isArray(v)) return v.map((item) => walk(item, depth + 1));
    const proto = Object.getPrototypeOf(v) as unknown;
    if (proto !== Object.prototype && proto !== null) return v;
    return Object.fromEntries(Object.entries(v).map(([k, item]) => [k, walk(item, depth + 1)]));
  };
  return walk(value, 0) as T;
}
