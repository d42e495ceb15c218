// A local stand-in for a webhook proxy channel (smee.io's protocol, what Probot's WEBHOOK_PROXY_URL
// names): GitHub posts a delivery to the channel, and every client listening on the channel's
// server-sent event stream gets it as one `data:` event holding its headers, `body` and `query`.
import crypto from 'node:crypto';
import http, { type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { sign } from './webhooks.ts';

export interface WebhookProxySim {
  /** The channel URL, as WEBHOOK_PROXY_URL holds it. */
  url: string;
  /** Delivers a signed webhook to every listener, as GitHub posting to the channel would. */
  deliver(options: { secret: string; event: string; payload: unknown; deliveryId?: string }): void;
  close(): Promise<void>;
}

export async function startWebhookProxySim(): Promise<WebhookProxySim> {
  const channel = `/ai-fix-test-${crypto.randomBytes(6).toString('hex')}`;
  const streams = new Set<ServerResponse>();
  const server = http.createServer((req, res) => {
    if (req.method !== 'GET' || req.url !== channel) {
      res.writeHead(404).end();
      return;
    }
    res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache', connection: 'keep-alive' });
    res.write('event: ready\ndata: {}\n\n');
    streams.add(res);
    res.on('close', () => streams.delete(res));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}${channel}`,
    deliver({ secret, event, payload, deliveryId = crypto.randomUUID() }) {
      // The client posts JSON.stringify(body): GitHub's compact JSON, so the signature holds.
      const message = {
        'user-agent': 'GitHub-Hookshot/test',
        'x-github-event': event,
        'x-github-delivery': deliveryId,
        'x-hub-signature-256': sign(secret, JSON.stringify(payload)),
        body: payload,
        query: {},
        timestamp: Date.now(),
      };
      for (const stream of streams) stream.write(`data: ${JSON.stringify(message)}\n\n`);
    },
    async close() {
      for (const stream of streams) stream.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
