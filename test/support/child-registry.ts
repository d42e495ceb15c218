import { rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { ChildProcess } from 'node:child_process';

// Every long-lived process a test starts is tracked twice: in memory, killed when the test
// file's process exits, and as a file in the run's registry (AI_FIX_TEST_PROCESSES, made by
// jest's global setup), which the global teardown kills whatever happened to the jest worker.
export const REGISTRY_ENV = 'AI_FIX_TEST_PROCESSES';

const live = new Set<ChildProcess>();
const groups = new WeakSet<ChildProcess>();
process.once('exit', () => {
  for (const child of live) killTree(child.pid, groups.has(child));
});

/** SIGKILLs a process, and its process group when it leads one. */
export function killTree(pid: number | undefined, group: boolean): void {
  if (pid === undefined) return;
  for (const target of group ? [-pid, pid] : [pid]) {
    try {
      process.kill(target, 'SIGKILL');
    } catch {
      // Gone already.
    }
  }
}

/**
 * Tracks a child until it exits. `group`: it was spawned `detached`, so it leads a process group
 * and killing the group takes what it started too.
 */
export function trackChild(child: ChildProcess, options: { group?: boolean } = {}): ChildProcess {
  const pid = child.pid;
  if (pid === undefined) return child;
  live.add(child);
  if (options.group) groups.add(child);
  const registry = process.env[REGISTRY_ENV];
  const entry = registry ? path.join(registry, `${pid}${options.group ? '.group' : ''}`) : undefined;
  if (entry) writeFileSync(entry, '');
  child.once('exit', () => {
    live.delete(child);
    // A group's entry stays: what its leader started may outlive it, and the teardown asks the
    // kernel for the group, which fails harmlessly once it is empty.
    if (entry && !options.group) rmSync(entry, { force: true });
  });
  return child;
}
