import type { SandboxDirs, SandboxPolicy } from './sandbox-policy.ts';

/**
 * bubblewrap around one command: no network, its own pid/ipc/uts/user namespaces and session,
 * no capabilities, the host read-only with the worker's own places (temp dirs, home, other
 * jobs, key files) replaced by empty ones, and only this job's checkout and scratch home
 * writable. The repository metadata is visible read-only. Everything dies with bwrap.
 */
export function bwrapArgs(dirs: SandboxDirs, hidden: SandboxPolicy['hidden']): string[] {
  return [
    'bwrap',
    '--die-with-parent',
    '--new-session',
    '--cap-drop', 'ALL',
    '--unshare-all',
    '--ro-bind', '/', '/',
    '--dev', '/dev',
    '--proc', '/proc',
    ...hidden.flatMap(({ path, kind }) => (kind === 'dir' ? ['--tmpfs', path] : ['--ro-bind', '/dev/null', path])),
    '--ro-bind', dirs.gitDir, dirs.gitDir,
    '--bind', dirs.home, dirs.home,
    '--bind', dirs.workspace, dirs.workspace,
    '--chdir', dirs.workspace,
    '--',
  ];
}
