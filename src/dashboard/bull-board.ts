import type { IncomingMessage, ServerResponse } from 'node:http';
import { createBullBoard } from '@bull-board/api';
import { BullMQAdapter } from '@bull-board/api/bullMQAdapter';
import { ExpressAdapter } from '@bull-board/express';
import express from 'express';
import type { Queue } from 'bullmq';

/**
 * Bull Board (the queues: jobs, retries, failures) as a plain node:http handler: its Express
 * adapter's router mounted in an Express app of its own, which is a (req, res) function.
 */
const EXTERNAL_STYLESHEET = /<link\b[^>]*href="https?:\/\/[^"]*"[^>]*>/g;

/**
 * Bull Board's page links a web font stylesheet on the internet; the dashboard loads nothing
 * from outside, so the link is dropped from its HTML (the fonts fall back to the system's).
 */
function dropExternalStylesheets(res: ServerResponse): void {
  const end = res.end.bind(res) as (chunk?: unknown, ...rest: unknown[]) => ServerResponse;
  res.end = ((chunk?: unknown, ...rest: unknown[]) => {
    const type = String(res.getHeader('content-type') ?? '');
    if (chunk !== undefined && typeof chunk !== 'function' && type.startsWith('text/html') && !res.headersSent) {
      const text = Buffer.isBuffer(chunk) ? chunk.toString('utf8') : typeof chunk === 'string' ? chunk : Buffer.from(chunk as Uint8Array).toString('utf8');
      const cleaned = text.replace(EXTERNAL_STYLESHEET, '');
      res.setHeader('content-length', Buffer.byteLength(cleaned));
      return end(cleaned, ...rest);
    }
    return end(chunk, ...rest);
  }) as ServerResponse['end'];
}

export function bullBoardHandler(queues: Queue[], basePath: string): (req: IncomingMessage, res: ServerResponse) => void {
  const serverAdapter = new ExpressAdapter();
  serverAdapter.setBasePath(basePath);
  createBullBoard({
    queues: queues.map((queue) => new BullMQAdapter(queue)),
    serverAdapter,
    options: { uiConfig: { boardTitle: 'ai-fix queues' } },
  });
  const app = express();
  app.disable('x-powered-by');
  app.use(basePath, serverAdapter.getRouter() as express.Router);
  // Express apps take node's own request and response and extend them per request.
  const handle = app as unknown as (req: IncomingMessage, res: ServerResponse, next: () => void) => void;
  return (req, res) => {
    dropExternalStylesheets(res);
    handle(req, res, () => {
      if (!res.headersSent) res.writeHead(404, { 'content-type': 'text/plain' }).end('not found\n');
    });
  };
}
