import { SmeeClient } from 'smee-client';
import { ConfigError, errorMessage } from '../util/errors.ts';
import type { Logger } from '../util/logger.ts';

export interface WebhookProxy {
  close(): Promise<void>;
}

/**
 * For a server GitHub cannot reach (a laptop): takes the deliveries GitHub sent to a webhook
 * proxy channel (WEBHOOK_PROXY_URL, smee.io's protocol, as Probot uses it) and posts them to our
 * own webhook route, where they are verified like any other delivery.
 */
export async function startWebhookProxy(options: { source: string; target: string; log: Logger }): Promise<WebhookProxy> {
  const { source, target, log } = options;
  // The client logs each forwarded delivery and each reconnection: kept out of the info log.
  const client = new SmeeClient({
    source,
    target,
    logger: {
      info: (message: string) => log.debug({ source }, message),
      error: (message: unknown) => log.warn({ source }, `webhook proxy: ${errorMessage(message)}`),
    },
    maxConnectionTimeout: 15_000,
  });
  try {
    await client.start();
  } catch (err) {
    // The event source rejects with an ErrorEvent, which is no Error but has a message.
    const reason = (err as { message?: string } | undefined)?.message || 'no answer';
    throw new ConfigError(`WEBHOOK_PROXY_URL: cannot connect to ${source} (${reason}); check the channel URL, or unset it when GitHub can reach this server`);
  }
  log.info({ source, target }, 'taking webhooks from the proxy channel in WEBHOOK_PROXY_URL (for development; point the GitHub App at a public URL in production)');
  return { close: () => client.stop() };
}
