import crypto from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';

// Operators' pages (dashboard, /metrics) take one shared token, as a Bearer token (scripts,
// Prometheus) or as the password of HTTP Basic auth with any user name (browsers ask for it).

function digest(text: string): Buffer {
  return crypto.createHash('sha256').update(text).digest();
}

/** Equal-length digests compared in constant time: neither length nor prefix leaks. */
function sameSecret(given: string, expected: string): boolean {
  return crypto.timingSafeEqual(digest(given), digest(expected));
}

function presented(req: IncomingMessage): string | undefined {
  const header = req.headers.authorization ?? '';
  const [scheme = '', value = ''] = header.split(/\s+/, 2);
  if (/^bearer$/i.test(scheme)) return value;
  if (/^basic$/i.test(scheme)) {
    const decoded = Buffer.from(value, 'base64').toString('utf8');
    const colon = decoded.indexOf(':');
    return colon >= 0 ? decoded.slice(colon + 1) : undefined;
  }
  return undefined;
}

export function authorized(req: IncomingMessage, token: string | undefined): boolean {
  if (!token) return false;
  const given = presented(req);
  return given !== undefined && sameSecret(given, token);
}

/**
 * Answers a request that did not pass `authorized`: 401 with a Basic challenge (the browser's
 * login prompt), or 403 naming the variable when no token is configured at all.
 */
export function refuse(res: ServerResponse, token: string | undefined, variable: string): void {
  if (!token) {
    res.writeHead(403, { 'content-type': 'text/plain; charset=utf-8' }).end(`disabled: set ${variable} to enable this page\n`);
    return;
  }
  res
    .writeHead(401, { 'content-type': 'text/plain; charset=utf-8', 'www-authenticate': 'Basic realm="ai-fix", charset="UTF-8"' })
    .end('authentication required: the token as a Bearer token, or as the password of Basic auth\n');
}
