import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Redis } from 'ioredis';

/** `/healthz`: the process answers. `/readyz`: it can reach Redis, so it can take webhooks. */
export function healthRoutes(redis: Redis) {
  return async (req: IncomingMessage, res: ServerResponse): Promise<boolean> => {
    const url = req.url?.split('?')[0];
    if (url === '/healthz') {
      res.writeHead(200, { 'content-type': 'text/plain' }).end('ok\n');
      return true;
    }
    if (url === '/readyz') {
      const ready = await Promise.race([
        redis.ping().then(() => true, () => false),
        new Promise<boolean>((resolve) => setTimeout(() => resolve(false), 1000)),
      ]);
      res.writeHead(ready ? 200 : 503, { 'content-type': 'text/plain' }).end(ready ? 'ready\n' : 'redis unreachable\n');
      return true;
    }
    return false;
  };
}
