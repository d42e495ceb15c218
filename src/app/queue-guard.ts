import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Redis } from 'ioredis';

/**
 * While Redis is unreachable a webhook cannot be queued: answer 503 at once (GitHub records the
 * failed delivery) instead of hanging until GitHub's 10 s timeout. The failed delivery ids are
 * handed to `onRefused` so they can be redelivered when Redis is back. Runs on every delivery,
 * so it only reads the connection's state.
 */
export function queueGuard(options: { redis: Redis; onRefused: (deliveryId: string, event: string) => void }) {
  return (req: IncomingMessage, res: ServerResponse): boolean => {
    if (options.redis.status === 'ready') return false;
    const deliveryId = req.headers['x-github-delivery'];
    const event = req.headers['x-github-event'];
    if (typeof deliveryId === 'string') options.onRefused(deliveryId, typeof event === 'string' ? event : 'unknown');
    req.resume();
    res.writeHead(503, { 'content-type': 'text/plain', 'retry-after': '30' }).end('queue unavailable: Redis is unreachable\n');
    return true;
  };
}
