import { redact } from '../../util/redact.ts';
import type { PreparedTask } from '../task-context.ts';
import type { AgentOutcome } from '../../agent/agent-loop.ts';

/** A commit message from the model's summary: anything secret it printed is redacted. */
export function commitMessage(task: PreparedTask, subject: string, outcome: Pick<AgentOutcome, 'summary'>): string {
  return redact(`${subject}\n\n${outcome.summary ?? 'Work in progress by ai-fix.'}\n\nai-fix task ${task.jobId}`, task.deps.secrets);
}
