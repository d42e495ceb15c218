import { Queue, type ConnectionOptions } from 'bullmq';
import { intakeJobId } from '../queue/job-ids.ts';

export const INTAKE_QUEUE_NAME = 'intake';

/** An `issues.labeled` delivery waiting to be decided (config, label, permission). No secrets. */
export interface IntakeRequest {
  deliveryId: string;
  repo: { id: number; owner: string; name: string };
  installationId: number;
  issueNumber: number;
  label: string;
  sender: string;
}

/** What the intake made of a delivery, for the log and `ai_fix_intake_total`. */
export type IntakeOutcome =
  | 'queued'
  | 'already-queued'
  | 'redelivery'
  | 'other-label'
  | 'not-allowed'
  | 'bad-config'
  | 'not-allow-listed'
  | 'stopped';

export type IntakeQueue = Queue<IntakeRequest, IntakeOutcome, string>;

export function createIntakeQueue(connection: ConnectionOptions, prefix: string): IntakeQueue {
  return new Queue<IntakeRequest, IntakeOutcome, string>(INTAKE_QUEUE_NAME, {
    connection,
    prefix,
    defaultJobOptions: {
      // GitHub answered the delivery already, so its redelivery cannot help: a failed read
      // (GitHub 5xx, rate limit, network) is retried here, for about ten minutes.
      attempts: 8,
      backoff: { type: 'exponential', delay: 5000 },
      // Kept a day, as long as GitHub may redeliver, so a redelivery finds its job.
      removeOnComplete: { age: 24 * 3600, count: 10_000 },
      removeOnFail: { age: 7 * 24 * 3600, count: 10_000 },
    },
  });
}

/** The webhook's one durable write: a redelivered delivery maps onto the job it created. */
export async function queueIntake(queue: IntakeQueue, request: IntakeRequest): Promise<void> {
  await queue.add('issues.labeled', request, { jobId: intakeJobId(request.deliveryId) });
}
