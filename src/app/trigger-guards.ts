import type { Redis } from 'ioredis';

const DELIVERY_TTL_SECONDS = 24 * 3600;

/** Bots never trigger work. A `[bot]` suffix is a GitHub App's mark; type is checked too. */
export function isBot(user: { login: string; type?: string } | null | undefined): boolean {
  return !user || user.type === 'Bot' || user.login.endsWith('[bot]');
}

/** True the first time a delivery id is seen within a day; GitHub redelivers on timeouts. */
export async function rememberDelivery(redis: Redis, prefix: string, deliveryId: string): Promise<boolean> {
  return (await redis.set(`${prefix}:delivery:${deliveryId}`, '1', 'EX', DELIVERY_TTL_SECONDS, 'NX')) === 'OK';
}

export async function forgetDelivery(redis: Redis, prefix: string, deliveryId: string): Promise<void> {
  await redis.del(`${prefix}:delivery:${deliveryId}`);
}
