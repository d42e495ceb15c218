import type { Octokit } from '@octokit/core';
import type { Logger } from '../util/logger.ts';

interface HookDelivery {
  id: number;
  guid: string;
  status_code: number;
  redelivery: boolean;
}

const PAGES = 5;

/**
 * Asks GitHub to redeliver the webhooks this server refused while Redis was down, through the
 * app's webhook deliveries API. Redeliveries keep their delivery id, so one that did get through
 * meanwhile is recognised and dropped by the delivery dedupe.
 */
export async function redeliverRefused(appOctokit: Octokit, refused: Set<string>, log: Logger): Promise<number> {
  if (refused.size === 0) return 0;
  const wanted = new Set(refused);
  let redelivered = 0;
  let cursor: string | undefined;
  for (let page = 0; page < PAGES && wanted.size > 0; page++) {
    const response = await appOctokit.request('GET /app/hook/deliveries', { per_page: 100, ...(cursor ? { cursor } : {}) });
    const deliveries = response.data as HookDelivery[];
    for (const delivery of deliveries) {
      if (!wanted.has(delivery.guid) || delivery.status_code < 500) continue;
      wanted.delete(delivery.guid);
      await appOctokit.request('POST /app/hook/deliveries/{delivery_id}/attempts', { delivery_id: delivery.id });
      redelivered++;
    }
    cursor = /[?&]cursor=([^&>]+)/.exec(String(response.headers.link ?? ''))?.[1];
    if (!cursor) break;
  }
  for (const guid of refused) if (!wanted.has(guid)) refused.delete(guid);
  log.info({ redelivered, notFound: wanted.size }, 'asked GitHub to redeliver webhooks refused during the Redis outage');
  return redelivered;
}
