import http from 'node:http';
import { createNodeMiddleware, type ApplicationFunction, type Probot } from 'probot';
import type { Logger } from '../util/logger.ts';
import { listen, type Listening } from '../util/listen.ts';

/**
 * Our own HTTP server around Probot's middleware (instead of Probot's Server), so routes the
 * app adds (the Redis guard, health) run before the webhook handler and shutdown is ours.
 */
export async function startHttpServer(options: {
  probot: Probot;
  appFn: ApplicationFunction;
  host?: string;
  port: number;
  webhookPath: string;
  log: Logger;
}): Promise<Listening> {
  const middleware = await createNodeMiddleware(options.appFn, { probot: options.probot, webhooksPath: options.webhookPath });
  const server = http.createServer((req, res) => {
    Promise.resolve(
      middleware(req, res, () => {
        res.writeHead(404, { 'content-type': 'text/plain' }).end('not found\n');
      }),
    ).catch((err: unknown) => {
      options.log.error({ err }, 'request failed');
      if (!res.headersSent) res.writeHead(500).end();
    });
  });
  // Webhook deliveries are short; keep-alive sockets must not hold shutdown hostage.
  server.keepAliveTimeout = 5000;
  const listening = await listen(server, options.port, options.host, 'PORT');
  options.log.info({ url: listening.url, webhookPath: options.webhookPath }, 'listening for webhooks');
  return listening;
}
