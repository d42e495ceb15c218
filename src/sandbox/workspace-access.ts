import type { CommandResult } from './run-command.ts';

/** The workspace as the pipeline hands it to the agent (its functions are passed around on their own). */
export interface WorkspaceAccess {
  /** The workspace root (a real path); every file tool stays inside it. */
  root: string;
  /** Runs a shell command in the sandbox, in the workspace. */
  runShell: (command: string, timeoutMs?: number) => Promise<CommandResult>;
  /**
   * Runs git in the sandbox on the checkout: never host git on a tree the agent wrote, which can
   * hold a nested repository or attributes made to run a program.
   */
  runGit: (args: string[]) => Promise<CommandResult>;
  /** What the checkout would commit as (equal before and after: nothing changed); null when unknown. */
  workTreeId: () => Promise<string | null>;
  testCommand: string | null;
  signal: AbortSignal;
  /** The sandbox user, when it is not the worker's: files the tools create are handed to it. */
  fileOwner?: { uid: number; gid: number };
  /** Paths the agent may not change, as globs relative to the root. */
  protectedPaths: string[];
}
