import { cleanForDisplay } from '../util/display-text.ts';
import { redactDeep } from '../util/redact.ts';

const WRITES = new Set(['POST', 'PATCH', 'PUT']);
// Request options that are not content: the route, the credentials in the headers, transport.
const NOT_CONTENT = new Set(['method', 'url', 'baseUrl', 'headers', 'request', 'mediaType']);
// What GitHub shows people: the title and body of issues, pull requests, comments and replies.
const DISPLAYED = ['title', 'body'];

type RequestOptions = Record<string, unknown>;

/**
 * An Octokit `before request` hook that redacts everything a write sends to GitHub (comment and
 * pull request bodies, titles, …) and cleans displayed text of control and invisible characters:
 * one choke point, so no code path can post a secret or text that hides what it says.
 */
export function redactWrites(secrets: Iterable<string>): (options: RequestOptions) => void {
  return (options) => {
    if (!WRITES.has(String(options.method).toUpperCase())) return;
    // Cleaned first, so a secret split by zero-width characters is whole when redacted.
    for (const key of DISPLAYED) {
      const value = options[key];
      if (typeof value === 'string') options[key] = cleanForDisplay(value);
    }
    for (const [key, value] of Object.entries(options)) {
      if (!NOT_CONTENT.has(key)) options[key] = redactDeep(value, secrets);
    }
  };
}

/** The same as an Octokit plugin, for the Octokit classes other code instantiates (Probot's). */
export function redactWritesPlugin(secrets: Iterable<string>) {
  return (octokit: { hook: { before(name: 'request', hook: (options: RequestOptions) => void): void } }) => {
    octokit.hook.before('request', redactWrites(secrets));
  };
}
