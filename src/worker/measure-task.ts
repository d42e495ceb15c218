import { DelayedError } from 'bullmq';
import type { Metrics } from '../observability/metrics.ts';
import type { TaskResult } from '../queue/task-queue.ts';

/** Runs one task and counts it: active while it runs, then its outcome and duration. */
export async function measureTask(metrics: Metrics, kind: string, run: () => Promise<TaskResult>): Promise<TaskResult> {
  const started = Date.now();
  let outcome = 'error';
  metrics.activeTasks.inc();
  try {
    const result = await run();
    outcome = result.outcome;
    return result;
  } catch (err) {
    // A task handed back at shutdown continues elsewhere: not a failure.
    if (err instanceof DelayedError) outcome = 'handed-back';
    throw err;
  } finally {
    metrics.activeTasks.dec();
    metrics.tasks.inc({ kind, outcome });
    metrics.taskDuration.observe({ kind, outcome }, (Date.now() - started) / 1000);
  }
}
