import type { Logger } from '../util/logger.ts';

/**
 * GitHub writes the webhook handler must not wait for (reactions, comments): GitHub allows 10 s
 * per delivery and Probot spaces writes about a second apart, so they run after the answer.
 * Shutdown drains them so an acknowledgement is not cut off half-way.
 */
export class BackgroundWrites {
  readonly #pending = new Set<Promise<void>>();
  readonly #log: Logger;

  constructor(log: Logger) {
    this.#log = log;
  }

  run(description: string, write: () => Promise<unknown>): void {
    const promise = write()
      .then(() => undefined)
      .catch((err: unknown) => this.#log.warn({ err }, `background write failed: ${description}`))
      .finally(() => this.#pending.delete(promise));
    this.#pending.add(promise);
  }

  async drain(): Promise<void> {
    while (this.#pending.size) await Promise.all([...this.#pending]);
  }
}
