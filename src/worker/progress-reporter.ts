import type { Octokit } from '@octokit/core';
import type { Redis } from 'ioredis';
import { ensureProgressComment, type ProgressTarget } from '../github/progress-comment.ts';
import { renderProgress, type ProgressView } from '../github/progress-render.ts';
import type { Logger } from '../util/logger.ts';
import { redact } from '../util/redact.ts';

export function progressKey(prefix: string, jobId: string): string {
  return `${prefix}:progress:${jobId}`;
}

const STEP_UPDATE_INTERVAL_MS = 15_000;

/** Sees every update, throttled or not (the task's record for the dashboard). */
export interface ProgressObserver {
  progress(view: ProgressView): void;
}

/**
 * Edits the task's one progress comment. Step updates are spaced out (each edit is a GitHub
 * write); stage changes always go through. A failed edit is logged, never fails the task.
 */
export class ProgressReporter {
  readonly #octokit: Octokit;
  readonly #redis: Redis;
  readonly #key: string;
  readonly #target: ProgressTarget;
  readonly #log: Logger;
  readonly #secrets: Set<string>;
  readonly #startedAt = Date.now();
  readonly #observer: ProgressObserver | undefined;
  #view: ProgressView;
  #lastWrite = 0;

  constructor(options: {
    octokit: Octokit;
    redis: Redis;
    key: string;
    target: ProgressTarget;
    log: Logger;
    secrets: Set<string>;
    observer?: ProgressObserver;
    taskPageUrl?: string;
  }) {
    this.#octokit = options.octokit;
    this.#redis = options.redis;
    this.#key = options.key;
    this.#target = options.target;
    this.#log = options.log;
    this.#secrets = options.secrets;
    this.#observer = options.observer;
    this.#view = { stage: 'queued', ...(options.taskPageUrl ? { taskPageUrl: options.taskPageUrl } : {}) };
  }

  get view(): ProgressView {
    return this.#view;
  }

  async update(change: Partial<ProgressView>): Promise<void> {
    const stageChanged = change.stage !== undefined && change.stage !== this.#view.stage;
    this.#view = { ...this.#view, ...change, startedAt: this.#startedAt };
    this.#observer?.progress(this.#view);
    if (!stageChanged && Date.now() - this.#lastWrite < STEP_UPDATE_INTERVAL_MS) return;
    this.#lastWrite = Date.now();
    const body = redact(renderProgress({ ...this.#view, now: Date.now() }), this.#secrets);
    try {
      await ensureProgressComment(this.#octokit, { redis: this.#redis, key: this.#key }, this.#target, body);
    } catch (err) {
      this.#log.warn({ err }, 'could not update the progress comment');
    }
  }
}
