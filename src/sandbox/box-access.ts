import type { WorkspaceAccess } from './workspace-access.ts';
import { runGitInBox, workTreeId } from './box-git.ts';
import type { TaskBox } from './task-box.ts';

// Room for `git ls-files` of a repository with tens of thousands of files.
const GIT_OUTPUT_BYTES = 8 * 2 ** 20;

/** The agent's ways into its box: shell commands, git on its checkout, and the tree it would commit. */
export function boxAccess(box: TaskBox, input: { objects: string; baseSha: string; commandTimeoutMs: number; signal: AbortSignal }): Pick<WorkspaceAccess, 'runShell' | 'runGit' | 'workTreeId'> {
  return {
    runShell: (command, timeoutMs) => box.run(command, { timeoutMs: Math.min(timeoutMs ?? input.commandTimeoutMs, input.commandTimeoutMs), signal: input.signal }),
    runGit: (args) => runGitInBox(box, args, { signal: input.signal, outputLimit: GIT_OUTPUT_BYTES }),
    workTreeId: () => workTreeId(box, [input.objects], input.baseSha, input.signal),
  };
}
