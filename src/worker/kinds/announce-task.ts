import { issueCutNotes } from '../../github/issue-context.ts';
import type { PreparedTask } from '../task-context.ts';

/** Before the agent starts, the progress comment says what will check its work and what of the issue it cannot see. */
export function announceTask(task: PreparedTask): Promise<void> {
  return task.progress.update({ tests: { command: task.testCommand }, notes: issueCutNotes(task.issue) });
}
