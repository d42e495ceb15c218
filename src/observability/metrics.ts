import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { TokenUsage } from '../agent/conversation.ts';

/**
 * This process's Prometheus metrics, in a registry of its own (no global state). Each process
 * counts what happens in it: the server its webhooks and the queue depth (read from Redis, so
 * it is global), a worker its tasks, tokens and dollars.
 */
export interface Metrics {
  registry: Registry;
  webhooks: Counter<'event' | 'outcome'>;
  intake: Counter<'outcome'>;
  tasks: Counter<'kind' | 'outcome'>;
  taskDuration: Histogram<'kind' | 'outcome'>;
  modelTokens: Counter<'model' | 'type'>;
  modelDollars: Counter<'model'>;
  activeTasks: Gauge;
}

export function createMetrics(): Metrics {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: 'ai_fix_' });
  const registers = [registry];
  return {
    registry,
    webhooks: new Counter({
      name: 'ai_fix_webhooks_total',
      help: 'Webhook deliveries the app handles, by event (event.action) and outcome (handled, error, refused)',
      labelNames: ['event', 'outcome'],
      registers,
    }),
    intake: new Counter({
      name: 'ai_fix_intake_total',
      help: 'Labelled issues decided by the intake, by outcome (queued, already-queued, redelivery, other-label, not-allowed, bad-config, not-allow-listed, stopped: label removed or issue closed meanwhile, error: an attempt failed)',
      labelNames: ['outcome'],
      registers,
    }),
    tasks: new Counter({
      name: 'ai_fix_tasks_total',
      help: 'Task runs by kind and outcome (pr-opened, pr-updated, failed, cancelled, no-changes, error, handed-back)',
      labelNames: ['kind', 'outcome'],
      registers,
    }),
    taskDuration: new Histogram({
      name: 'ai_fix_task_duration_seconds',
      help: 'Wall time of a task run in this worker, by kind and outcome',
      labelNames: ['kind', 'outcome'],
      buckets: [10, 30, 60, 120, 300, 600, 1200, 1800, 3600],
      registers,
    }),
    modelTokens: new Counter({
      name: 'ai_fix_model_tokens_total',
      help: 'Model tokens by model and type (input, cached, output, reasoning; cached and reasoning are parts of input and output)',
      labelNames: ['model', 'type'],
      registers,
    }),
    modelDollars: new Counter({
      name: 'ai_fix_model_dollars_total',
      help: 'Model cost in dollars by model, from the price table (models without a price are not counted)',
      labelNames: ['model'],
      registers,
    }),
    activeTasks: new Gauge({ name: 'ai_fix_tasks_active', help: 'Tasks this worker process is running now', registers }),
  };
}

export function countModelUsage(metrics: Metrics, model: string, usage: TokenUsage, dollars: number | null): void {
  for (const type of ['input', 'cached', 'output', 'reasoning'] as const) {
    if (usage[type] > 0) metrics.modelTokens.inc({ model, type }, usage[type]);
  }
  if (dollars !== null && dollars > 0) metrics.modelDollars.inc({ model }, dollars);
}

/** The queue's job counts by state, read from Redis when Prometheus scrapes. */
export function registerQueueDepth(metrics: Metrics, queue: string, counts: () => Promise<Record<string, number>>): void {
  // Named and labelled as the Helm chart's HPA option expects (deploy/helm/ai-fix).
  new Gauge({
    name: 'ai_fix_tasks',
    help: 'Tasks in the queue by state (waiting, active, delayed, failed), for all workers',
    labelNames: ['queue', 'state'],
    registers: [metrics.registry],
    async collect() {
      // A scrape during a Redis outage still answers, without the gauge.
      const byState = await counts().catch(() => ({}));
      for (const [state, count] of Object.entries(byState)) this.set({ queue, state }, count);
    },
  });
}
