import type { Octokit } from '@octokit/core';
import type { Redis } from 'ioredis';
import { ensureProgressComment, type ProgressTarget } from '../github/progress-comment.ts';
import { renderProgress, type ProgressStage, type ProgressView } from '../github/progress-render.ts';
import type { Logger } from '../util/logger.ts';
import { redact } from '../util/redact.ts';

// Each edit is a GitHub write, and GitHub asks for about one write a second per installation,
// shared by all its tasks. So the comment is edited at most once per interval with the latest
// state: a new stage waits until STAGE_EDIT_INTERVAL_MS after the previous edit, a step within a
// stage until STEP_EDIT_INTERVAL_MS; updates in between replace each other. The app posted the
// "queued" comment when the task was queued, which counts as the first edit.
const STAGE_EDIT_INTERVAL_MS = 5_000;
const STEP_EDIT_INTERVAL_MS = 15_000;
const TERMINAL_STAGES: ReadonlySet<ProgressStage> = new Set(['done', 'failed', 'cancelled']);

/**
 * Which stages the task got through: moving on to the next stage, or finishing, completes the
 * current one; failing or being cancelled does not, and records where the task stopped.
 */
function stagesAfter(view: ProgressView, change: Partial<ProgressView>): Pick<ProgressView, 'completed' | 'stoppedAt'> {
  const completed = new Set([...(view.completed ?? []), ...(change.completed ?? [])]);
  const next = change.stage ?? view.stage;
  if (next === view.stage || TERMINAL_STAGES.has(view.stage)) return { completed: [...completed] };
  if (next === 'failed' || next === 'cancelled') return { completed: [...completed], stoppedAt: view.stage };
  completed.add(view.stage);
  return { completed: [...completed] };
}

/** Sees every update, coalesced or not (the task's record for the dashboard). */
export interface ProgressObserver {
  progress(view: ProgressView): void;
}

/**
 * Edits the task's one progress comment, coalescing updates (see above). A final state (done,
 * failed, cancelled) is written at once and awaited; `flush()` writes whatever is still pending,
 * so the task calls it before it ends. A failed edit is logged, never fails the task.
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
  /** Counts updates; the comment shows update number `#writtenVersion`. */
  #version = 0;
  #writtenVersion = 0;
  #writtenStage: ProgressStage;
  #lastWrite = Date.now();
  #timer: NodeJS.Timeout | undefined;
  #timerDue = 0;
  /** Edits run one after another, never two at once. */
  #writing: Promise<void> = Promise.resolve();

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
    this.#writtenStage = this.#view.stage;
  }

  get view(): ProgressView {
    return this.#view;
  }

  /**
   * Resolves at once, except for a final state: then once it is written. `completed` adds to the
   * stages already completed (e.g. the push, for a task that fails after it).
   */
  async update(change: Partial<ProgressView>): Promise<void> {
    this.#view = { ...this.#view, ...change, ...stagesAfter(this.#view, change), startedAt: this.#startedAt };
    this.#version += 1;
    this.#observer?.progress(this.#view);
    if (TERMINAL_STAGES.has(this.#view.stage)) return this.flush();
    this.#schedule();
  }

  /** Writes the latest state now unless the comment already shows it; resolves once written (or failed). */
  flush(): Promise<void> {
    clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#writing = this.#writing.then(() => this.#write());
    return this.#writing;
  }

  #due(): number {
    return this.#lastWrite + (this.#view.stage === this.#writtenStage ? STEP_EDIT_INTERVAL_MS : STAGE_EDIT_INTERVAL_MS);
  }

  #schedule(): void {
    const due = this.#due();
    if (this.#timer && this.#timerDue <= due) return;
    clearTimeout(this.#timer);
    this.#timerDue = due;
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      // An edit may have finished since this was set: then the interval counts from it.
      this.#writing = this.#writing.then(() => (Date.now() >= this.#due() ? this.#write() : this.#schedule()));
    }, Math.max(0, due - Date.now()));
  }

  async #write(): Promise<void> {
    if (this.#writtenVersion === this.#version) return;
    const version = this.#version;
    const view = this.#view;
    const body = redact(renderProgress({ ...view, now: Date.now() }), this.#secrets);
    try {
      await ensureProgressComment(this.#octokit, { redis: this.#redis, key: this.#key }, this.#target, body);
      this.#writtenVersion = version;
      this.#writtenStage = view.stage;
    } catch (err) {
      this.#log.warn({ err }, 'could not update the progress comment');
    } finally {
      this.#lastWrite = Date.now();
    }
  }
}
