import { errorMessage } from '../util/errors.ts';

// What Node's fetch (undici) and sockets say when a connection breaks: true, but meaningless to
// someone reading an issue comment.
const BROKEN_CONNECTION_MESSAGES = new Set(['terminated', 'fetch failed', 'other side closed', 'socket hang up', 'aborted']);
const BROKEN_CONNECTION_CODES = /^(ECONNRESET|ECONNREFUSED|ETIMEDOUT|EPIPE|EAI_AGAIN|ENOTFOUND|UND_ERR_\w+)$/;

function code(err: unknown): string | undefined {
  const own = (err as { code?: unknown }).code;
  if (typeof own === 'string') return own;
  const cause = (err as { cause?: { code?: unknown } }).cause?.code;
  return typeof cause === 'string' ? cause : undefined;
}

/**
 * An error as one sentence for the progress comment: what failed (a GitHub request, a network
 * connection) and what it said, instead of a bare library message like "terminated".
 */
export function failureReason(err: unknown): string {
  const message = errorMessage(err).replace(/\s+/g, ' ').trim();
  const status = (err as { status?: unknown }).status;
  const request = (err as { request?: { method?: string; url?: string } }).request;
  if (typeof status === 'number' && request?.url) {
    const hint = [401, 403, 404].includes(status) ? "; check the app's permissions on this repository" : '';
    return `GitHub answered HTTP ${status} to \`${request.method ?? 'GET'} ${new URL(request.url).pathname}\` (${message})${hint}`;
  }
  const errCode = code(err);
  if (BROKEN_CONNECTION_MESSAGES.has(message.toLowerCase()) || (errCode && BROKEN_CONNECTION_CODES.test(errCode))) {
    return `a network connection broke while ai-fix was working (${[message, errCode].filter(Boolean).join(', ')}); it is worth trying again: add the label again, or comment again on the pull request`;
  }
  return message || 'an unexpected error stopped the task';
}
