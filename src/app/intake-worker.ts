import { Worker, type ConnectionOptions } from 'bullmq';
import type { Metrics } from '../observability/metrics.ts';
import { INTAKE_QUEUE_NAME, type IntakeOutcome, type IntakeRequest } from './intake-queue.ts';
import { processIntake, type IntakeDependencies } from './process-intake.ts';

/**
 * Decisions are a few GitHub reads each: several at once, so one slow read does not hold up the
 * labels behind it. The intake runs in the server process, never behind the task workers' jobs.
 */
export const INTAKE_CONCURRENCY = 8;

export function startIntakeWorker(options: { connection: ConnectionOptions; prefix: string; deps: IntakeDependencies; metrics: Metrics }) {
  const { deps, metrics } = options;
  const worker = new Worker<IntakeRequest, IntakeOutcome, string>(INTAKE_QUEUE_NAME, (job) => processIntake(job.data, job.timestamp, deps), {
    connection: options.connection,
    prefix: options.prefix,
    concurrency: INTAKE_CONCURRENCY,
  });
  worker.on('completed', (_job, outcome) => metrics.intake.inc({ outcome }));
  worker.on('failed', (job, err) => {
    metrics.intake.inc({ outcome: 'error' });
    const fields = job ? { deliveryId: job.data.deliveryId, repo: `${job.data.repo.owner}/${job.data.repo.name}`, issue: job.data.issueNumber, attempt: job.attemptsMade } : {};
    deps.log.warn({ ...fields, err }, job && job.attemptsMade < (job.opts.attempts ?? 1) ? 'label intake failed; retrying' : 'label intake failed; giving up');
  });
  worker.on('error', (err) => deps.log.warn({ err: err.message }, 'intake worker connection error'));
  return worker;
}
