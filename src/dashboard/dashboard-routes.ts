import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Queue } from 'bullmq';
import type { Redis } from 'ioredis';
import { DASHBOARD_PATH } from '../observability/dashboard-links.ts';
import { authorized, refuse } from '../observability/operator-auth.ts';
import { readRecentTasks, readTaskRecord, readUsageRecords } from '../observability/task-records.ts';
import { parsePeriod, usageReport } from '../observability/usage-report.ts';
import { queueCounts } from '../queue/queue-counts.ts';
import { bullBoardHandler } from './bull-board.ts';
import { queuedTaskRecord } from './queued-task-record.ts';
import { renderTaskPage } from './task-page.ts';
import { renderTasksPage } from './tasks-page.ts';
import { renderUsagePage } from './usage-page.ts';

const TOKEN_VARIABLE = 'AI_FIX_DASHBOARD_TOKEN';
const RECENT_TASKS = 50;
// Pages and Bull Board load nothing from elsewhere (Bull Board's stylesheet names a web font
// service; the policy keeps the browser from reaching it).
const SECURITY_HEADERS = {
  'content-security-policy':
    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; font-src 'self'; connect-src 'self'; frame-ancestors 'none'",
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'same-origin',
  'cache-control': 'no-store',
};

export interface DashboardOptions {
  redis: Redis;
  queue: Queue;
  /** Labels waiting for their decision: shown in Bull Board, where a failed one can be retried. */
  intake: Queue;
  prefix: string;
  token: string | undefined;
}

/**
 * Browsers resend Basic credentials on their own, so a page elsewhere could post to Bull Board's
 * actions (retry, clean, empty) in an operator's name: changes must come from our own pages.
 */
function crossSiteWrite(req: IncomingMessage): boolean {
  if (req.method === 'GET' || req.method === 'HEAD') return false;
  const site = req.headers['sec-fetch-site'];
  if (typeof site === 'string' && site !== 'same-origin' && site !== 'none') return true;
  const origin = req.headers.origin;
  if (!origin) return false;
  try {
    return new URL(origin).host !== req.headers.host;
  } catch {
    return true;
  }
}

function sendPage(res: ServerResponse, status: number, body: string): void {
  res.writeHead(status, { 'content-type': 'text/html; charset=utf-8' }).end(body);
}

/** The operators' dashboard under /dashboard: tasks, a page per task, usage, and Bull Board. */
export function dashboardRoutes(options: DashboardOptions) {
  const queuesPath = `${DASHBOARD_PATH}/queues`;
  const bullBoard = bullBoardHandler([options.queue, options.intake], queuesPath);
  return async (req: IncomingMessage, res: ServerResponse): Promise<boolean> => {
    const url = new URL(req.url ?? '/', 'http://dashboard');
    const path = url.pathname;
    if (path !== DASHBOARD_PATH && !path.startsWith(`${DASHBOARD_PATH}/`)) return false;
    for (const [name, value] of Object.entries(SECURITY_HEADERS)) res.setHeader(name, value);
    if (!authorized(req, options.token)) {
      refuse(res, options.token, TOKEN_VARIABLE);
      return true;
    }
    if (crossSiteWrite(req)) {
      res.writeHead(403, { 'content-type': 'text/plain' }).end('cross-site request refused\n');
      return true;
    }
    if (path === queuesPath || path.startsWith(`${queuesPath}/`)) {
      bullBoard(req, res);
      return true;
    }
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405, { allow: 'GET, HEAD' }).end();
      return true;
    }
    const now = Date.now();
    if (path === DASHBOARD_PATH || path === `${DASHBOARD_PATH}/`) {
      const [tasks, counts] = await Promise.all([
        readRecentTasks(options.redis, options.prefix, RECENT_TASKS),
        queueCounts(options.queue).catch(() => undefined),
      ]);
      sendPage(res, 200, renderTasksPage(tasks, counts ? { ...counts } : undefined, now));
      return true;
    }
    const task = /^\/dashboard\/tasks\/([^/]+)$/.exec(path)?.[1];
    if (task) {
      const jobId = decodeURIComponent(task);
      const record =
        (await readTaskRecord(options.redis, options.prefix, jobId)) ??
        (await options.queue.getJob(jobId).then((job) => (job ? queuedTaskRecord(job) : undefined)));
      if (!record) res.writeHead(404, { 'content-type': 'text/plain' }).end('no record of this task (records are kept 14 days)\n');
      else sendPage(res, 200, renderTaskPage(record, now));
      return true;
    }
    if (path === `${DASHBOARD_PATH}/usage`) {
      const period = url.searchParams.get('since') ?? '7d';
      const span = parsePeriod(period);
      if (span === undefined) {
        res.writeHead(400, { 'content-type': 'text/plain' }).end('since: a period like 7d, 24h or 2w\n');
        return true;
      }
      const records = await readUsageRecords(options.redis, options.prefix, now - span);
      sendPage(res, 200, renderUsagePage(usageReport(records, now - span, now), period));
      return true;
    }
    res.writeHead(404, { 'content-type': 'text/plain' }).end('not found\n');
    return true;
  };
}
