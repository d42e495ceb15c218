import http, { type IncomingMessage, type ServerResponse } from 'node:http';
import type { Probot } from 'probot';
import type { Logger } from '../util/logger.ts';
import { listen, type Listening } from '../util/listen.ts';
import type { App } from './create-app.ts';

function pathOf(url: string | undefined): string {
  if (!url) return '/';
  const query = url.indexOf('?');
  return query < 0 ? url : url.slice(0, query);
}

/**
 * Our own HTTP server around Probot's webhook middleware (instead of Probot's Server), so the
 * Redis guard runs before a delivery is read and shutdown is ours. Deliveries, nearly all the
 * traffic, go straight to Probot's verifier; everything else tries the app's routes first.
 */
export async function startHttpServer(options: {
  probot: Probot;
  app: App;
  host?: string;
  port: number;
  webhookPath: string;
  log: Logger;
}): Promise<Listening> {
  const { probot, app, webhookPath, log } = options;
  await probot.load(app.appFn);
  const webhooks = await probot.getNodeMiddleware({ path: webhookPath });
  const failed = (res: ServerResponse) => (err: unknown) => {
    log.error({ err }, 'request failed');
    if (!res.headersSent) res.writeHead(500).end();
  };
  const notFound = (res: ServerResponse) => () => {
    if (!res.headersSent) res.writeHead(404, { 'content-type': 'text/plain' }).end('not found\n');
  };
  const route = async (req: IncomingMessage, res: ServerResponse) => {
    for (const handler of app.routes) if (await handler(req, res)) return;
    // The webhook path spelt differently (a trailing slash) or with another method: Probot answers.
    await webhooks(req, res, notFound(res));
  };
  const server = http.createServer((req, res) => {
    if (req.method === 'POST' && pathOf(req.url) === webhookPath) {
      if (!app.guard(req, res)) webhooks(req, res).catch(failed(res));
      return;
    }
    route(req, res).catch(failed(res));
  });
  // Webhook deliveries are short; keep-alive sockets must not hold shutdown hostage.
  server.keepAliveTimeout = 5000;
  const listening = await listen(server, options.port, options.host, 'PORT');
  log.info({ url: listening.url, webhookPath }, 'listening for webhooks');
  return listening;
}
