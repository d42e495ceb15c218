// Kernel resource limits (setrlimit, through bash's `ulimit`) for every command the agent runs.
// They hold per process, except the process count, which the kernel counts per user.
export interface ResourceLimits {
  /**
   * Writable memory of each process (RLIMIT_DATA). Not the address space (RLIMIT_AS): Node's
   * WebAssembly (and so its fetch), Go and the JVM reserve tens of GB they never use, and
   * break under any address-space cap that would actually bound memory.
   */
  memoryBytes: number;
  /** Processes and threads of the sandbox user (RLIMIT_NPROC): a fork bomb stops here. */
  processes: number;
  /** Largest file a command may write (RLIMIT_FSIZE). */
  fileSizeBytes: number;
}

/**
 * bash arguments that set the limits, then run `command` in a fresh bash that cannot raise them
 * (soft and hard limits are both set). A limit the host already holds lower stays at the lower
 * value. CPU time bounds a process that escaped the command's process group.
 */
export function limitedShell(command: string, limits: ResourceLimits, cpuSeconds: number): string[] {
  const settings: Array<[string, number]> = [
    ['-t', Math.max(1, Math.ceil(cpuSeconds))],
    ['-d', Math.floor(limits.memoryBytes / 1024)],
    ['-u', limits.processes],
    ['-f', Math.floor(limits.fileSizeBytes / 1024)],
    ['-c', 0],
  ];
  const prelude = settings.map(([flag, value]) => `{ ulimit ${flag} ${value} || ulimit ${flag} hard; } 2>/dev/null`).join('; ');
  return ['bash', '-c', `${prelude}; exec bash -c "$1"`, 'ai-fix-sandbox', command];
}
