import type { ResourceLimits } from './resource-limits.ts';

export type SandboxMode = 'bwrap' | 'none';

/** What one task's box may see of the host besides its read-only view of the system. */
export interface SandboxDirs {
  /** The checkout the agent works in (writable). */
  workspace: string;
  /** Its scratch HOME and TMPDIR (writable). */
  home: string;
  /** The checkout's own repository metadata, the agent's to use (writable). */
  gitDir: string;
  /** Host directories the box reads but never writes (the task repository's objects). */
  readOnly: string[];
}

/** Inside a bwrap box: the loopback port that leads out, through the worker's egress proxy. */
export const EGRESS_PORT = 3128;

/**
 * Where the way out is mounted inside a bwrap box: in its own empty `/tmp`, which can take mount
 * points on any host (a read-only root without `/run` cannot), on a path short enough for a
 * Unix socket (at most 107 bytes).
 */
export const EGRESS_DIR = '/tmp/.ai-fix-egress';

/** How the agent's commands run; decided once at start and passed to every task. */
export interface SandboxPolicy {
  mode: SandboxMode;
  limits: ResourceLimits;
  /**
   * The unprivileged users commands run as when the worker is root, one per running task: the
   * kernel does not apply the process limit to root, strangers' code should never run as root,
   * and a task's user is how everything its commands started is found and stopped.
   */
  users?: { first: number; count: number };
  /** Host paths a bwrap box does not see (replaced by an empty directory or file). */
  hidden: Array<{ path: string; kind: 'dir' | 'file' }>;
  /** Size of each empty directory (`/tmp` among them) a bwrap box gets. */
  tmpBytes: number;
  /** Toolchain directories a bwrap box sees read-only even inside a hidden one. */
  exposed: string[];
  /** PATH and the toolchains' variables, the same for every command. */
  env: Record<string, string>;
  /** Toolchain programs the box found at start, with their versions. */
  toolchains: Record<string, string>;
  /** The most any box may reach through the egress proxy (AI_FIX_NETWORK_ALLOW); bwrap only. */
  networkAllow: string[];
}

/** The users commands run as: a range starting at `first` when the worker is root. */
export function sandboxUsers(first: number, count: number, workerUid: number = process.getuid?.() ?? -1): SandboxPolicy['users'] {
  return workerUid === 0 ? { first, count } : undefined;
}
