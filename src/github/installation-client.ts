import { createAppAuth } from '@octokit/auth-app';
import { retry } from '@octokit/plugin-retry';
import { throttling } from '@octokit/plugin-throttling';
import { Octokit } from '@octokit/rest';
import type { Logger } from '../util/logger.ts';
import { redactWrites } from './redact-requests.ts';

// Retries transient failures (5xx, network) and waits out primary and secondary rate limits,
// so a burst of tasks slows down instead of failing. plugin-throttling also paces writes (one a
// second, as GitHub asks) in limiters shared by every client of the process with the same
// `throttle.id`: keyed by installation, as Probot keys its own clients, so one installation's
// tasks never queue behind another's, and the app's and the worker's writes for one installation
// share one pace when both run in one process.
const WorkerOctokit = Octokit.plugin(retry, throttling);
export type InstallationOctokit = InstanceType<typeof WorkerOctokit>;

export interface AppIdentity {
  appId: number;
  privateKey: string;
  /** REST base URL; undefined means Octokit's default. */
  baseUrl?: string;
}

type ClientOptions = Record<string, unknown> & { auth?: unknown; throttle?: Record<string, unknown> };

/**
 * For `Octokit.defaults()` of the class Probot builds its clients from: keys the write pace of
 * every client that acts for an installation by that installation. Probot does so for
 * `probot.auth(id)`, but the clients its webhook handlers get (`context.octokit`) keep the
 * default id, so without this the server's writes for all installations queued behind each other.
 */
export function paceByInstallation(options: ClientOptions): ClientOptions {
  const installationId = (options.auth as { installationId?: number | string } | undefined)?.installationId;
  if (installationId === undefined || options.throttle?.id !== undefined) return options;
  return { ...options, throttle: { ...options.throttle, id: String(installationId) } };
}

/** `secrets` are redacted from everything the client writes to GitHub. */
export function createInstallationOctokit(
  app: AppIdentity,
  installationId: number,
  log: Logger,
  secrets: Iterable<string>,
): InstallationOctokit {
  const octokit = new WorkerOctokit({
    authStrategy: createAppAuth,
    auth: { appId: app.appId, privateKey: app.privateKey, installationId },
    baseUrl: app.baseUrl,
    userAgent: 'ai-fix',
    log: {
      debug: () => {},
      info: () => {},
      // Octokit logs every failed request; the caller decides whether a 404 is an error.
      warn: (message: string) => log.debug(message),
      error: (message: string) => log.debug(message),
    },
    throttle: {
      id: String(installationId),
      onRateLimit: (retryAfter: number, options: { method: string; url: string }, _o: unknown, retryCount: number) => {
        log.warn({ retryAfter, url: options.url }, 'GitHub rate limit hit; waiting');
        return retryCount < 3;
      },
      onSecondaryRateLimit: (retryAfter: number, options: { method: string; url: string }, _o: unknown, retryCount: number) => {
        log.warn({ retryAfter, url: options.url }, 'GitHub secondary rate limit hit; waiting');
        return retryCount < 3;
      },
    },
  });
  octokit.hook.before('request', redactWrites(secrets));
  return octokit;
}

/**
 * An installation token for one git command. @octokit/auth-app caches it and mints a new one
 * shortly before the hour runs out, so long tasks keep pushing.
 */
export async function installationToken(octokit: InstallationOctokit): Promise<string> {
  const auth = (await octokit.auth({ type: 'installation' })) as { token: string };
  return auth.token;
}

export async function revokeInstallationToken(octokit: InstallationOctokit): Promise<void> {
  await octokit.request('DELETE /installation/token');
}
