import type { TaskRequest } from '../queue/task-request.ts';

/** What every log line about a task carries, so one task's lines can be found across processes. */
export function taskLogFields(jobId: string, request: TaskRequest) {
  // Job data comes from Redis: a malformed job still gets its id logged.
  return {
    jobId,
    repo: request.repo ? `${request.repo.owner}/${request.repo.name}` : undefined,
    issue: request.issueNumber,
    kind: request.kind,
    deliveryId: request.trigger?.deliveryId,
  };
}
