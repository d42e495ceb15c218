import type { Redis } from 'ioredis';
import { cancelChannel } from '../state/cancellation.ts';
import type { Logger } from '../util/logger.ts';

/** Relays cancel messages to this process's running jobs (BullMQ aborts their signals). */
export async function listenForCancels(options: {
  subscriber: Redis;
  prefix: string;
  cancel: (jobId: string, reason: string) => boolean;
  log: Logger;
}): Promise<void> {
  const channel = cancelChannel(options.prefix);
  options.subscriber.on('message', (from: string, message: string) => {
    if (from !== channel) return;
    try {
      const { jobId, reason } = JSON.parse(message) as { jobId: string; reason: string };
      if (options.cancel(jobId, reason)) options.log.info({ jobId, reason }, 'cancelling a running task');
    } catch (err) {
      options.log.warn({ err }, 'malformed cancel message ignored');
    }
  });
  await options.subscriber.subscribe(channel);
}
