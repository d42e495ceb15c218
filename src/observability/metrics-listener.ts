import http from 'node:http';
import type { Logger } from '../util/logger.ts';
import type { Metrics } from './metrics.ts';
import { metricsRoute, metricsToken } from './metrics-route.ts';
import { listen } from '../util/listen.ts';

/**
 * A worker-only process has no webhook server; it serves its own /metrics here, so Prometheus
 * scrapes every worker (each counts its own tasks, tokens and dollars).
 */
export async function startMetricsListener(options: {
  metrics: Metrics;
  env: { metricsToken?: string; dashboardToken?: string; host?: string };
  port: number;
  log: Logger;
}): Promise<{ url: string; close(): Promise<void> }> {
  const route = metricsRoute({ metrics: options.metrics, ...metricsToken(options.env) });
  const server = http.createServer((req, res) => {
    route(req, res).then(
      (handled) => {
        if (!handled) res.writeHead(404, { 'content-type': 'text/plain' }).end('not found\n');
      },
      (err: unknown) => {
        options.log.error({ err }, 'metrics request failed');
        if (!res.headersSent) res.writeHead(500).end();
      },
    );
  });
  const listening = await listen(server, options.port, options.env.host, 'AI_FIX_METRICS_PORT');
  options.log.info({ url: `${listening.url}/metrics` }, 'serving worker metrics');
  return listening;
}
