import crypto from 'node:crypto';
import type { Redis } from 'ioredis';

// One key per Redis data set, written by the first server that finds it missing. Redis that
// comes back without its data (persistence off, a new instance, a flush) has lost it with the
// queued tasks, so whoever writes it anew knows tasks may have been lost. No TTL: only losing
// the data removes it (production Redis runs with `noeviction`).
function key(prefix: string): string {
  return `${prefix}:data-epoch`;
}

export interface DataEpoch {
  /** Names this data set; tasks queued again for it share a delivery id, so a second pass adds nothing. */
  epoch: string;
  /** true for the one caller that wrote it: this data set is new, or the previous one was lost. */
  fresh: boolean;
}

export async function claimDataEpoch(redis: Redis, prefix: string): Promise<DataEpoch> {
  const epoch = crypto.randomUUID();
  if ((await redis.set(key(prefix), epoch, 'NX')) === 'OK') return { epoch, fresh: true };
  return { epoch: (await redis.get(key(prefix))) ?? epoch, fresh: false };
}
