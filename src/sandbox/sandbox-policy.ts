import type { ResourceLimits } from './resource-limits.ts';

export type SandboxMode = 'bwrap' | 'none';

/** The directories one task's commands may write (its checkout and scratch home), and its metadata. */
export interface SandboxDirs {
  workspace: string;
  home: string;
  /** The repository metadata: readable by the agent's own git commands, never writable. */
  gitDir: string;
}

/** How the agent's commands run; decided once at start and passed to every task. */
export interface SandboxPolicy {
  mode: SandboxMode;
  limits: ResourceLimits;
  /**
   * The unprivileged user commands run as when the worker is root: the kernel does not apply
   * the process limit to root, and strangers' code should never run as root anyway.
   */
  user?: { uid: number; gid: number };
  /** Host paths a bwrap sandbox does not see (replaced by an empty directory or file). */
  hidden: Array<{ path: string; kind: 'dir' | 'file' }>;
}

/** The user commands run as: `uid` (and the group of the same number) when the worker is root. */
export function sandboxUser(uid: number, workerUid: number = process.getuid?.() ?? -1): SandboxPolicy['user'] {
  return workerUid === 0 ? { uid, gid: uid } : undefined;
}
