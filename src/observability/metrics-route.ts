import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Metrics } from './metrics.ts';
import { authorized, refuse } from './operator-auth.ts';

/** `GET /metrics` for Prometheus, behind the metrics token (or the dashboard token). */
export function metricsRoute(options: { metrics: Metrics; token: string | undefined; tokenVariable: string }) {
  return async (req: IncomingMessage, res: ServerResponse): Promise<boolean> => {
    if (req.url?.split('?')[0] !== '/metrics') return false;
    if (!authorized(req, options.token)) {
      refuse(res, options.token, options.tokenVariable);
      return true;
    }
    const body = await options.metrics.registry.metrics();
    res.writeHead(200, { 'content-type': options.metrics.registry.contentType }).end(body);
    return true;
  };
}

/** Which token guards /metrics, and the variable to name when none is set. */
export function metricsToken(env: { metricsToken?: string; dashboardToken?: string }): { token: string | undefined; tokenVariable: string } {
  return {
    token: env.metricsToken ?? env.dashboardToken,
    tokenVariable: 'AI_FIX_METRICS_TOKEN (or AI_FIX_DASHBOARD_TOKEN)',
  };
}
