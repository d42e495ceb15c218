import { EGRESS_DIR, type SandboxDirs, type SandboxPolicy } from './sandbox-policy.ts';

/** The worker's egress proxy socket, and what runs the relay to it inside the box. */
export interface EgressMounts {
  socket: string;
  node: string;
  forwarder: string;
}

/**
 * bubblewrap around one command: no network, its own pid/ipc/uts/user namespaces and session
 * (and no further user namespaces inside), no capabilities, the host read-only with the worker's own places (temp dirs, home, other
 * jobs, key files) replaced by small empty ones, and only this task's checkout, metadata and
 * scratch home writable. Everything the command started dies with it (the pid namespace ends
 * when its first process does).
 */
export function bwrapArgs(dirs: SandboxDirs, policy: Pick<SandboxPolicy, 'hidden' | 'tmpBytes' | 'exposed'>, egress?: EgressMounts): string[] {
  return [
    'bwrap',
    '--die-with-parent',
    '--new-session',
    '--cap-drop', 'ALL',
    '--unshare-all',
    // No user namespaces inside: they are the kernel surface most local exploits go through.
    '--unshare-user',
    '--disable-userns',
    '--ro-bind', '/', '/',
    '--dev', '/dev',
    '--proc', '/proc',
    ...policy.hidden.flatMap(({ path, kind }) => (kind === 'dir' ? ['--size', String(policy.tmpBytes), '--tmpfs', path] : ['--ro-bind', '/dev/null', path])),
    ...policy.exposed.flatMap((dir) => ['--ro-bind', dir, dir]),
    ...dirs.readOnly.flatMap((dir) => ['--ro-bind', dir, dir]),
    ...(egress
      ? ['--ro-bind', egress.socket, `${EGRESS_DIR}/egress.sock`, '--ro-bind', egress.node, `${EGRESS_DIR}/node`, '--ro-bind', egress.forwarder, `${EGRESS_DIR}/egress-forwarder.cjs`]
      : []),
    '--bind', dirs.gitDir, dirs.gitDir,
    '--bind', dirs.home, dirs.home,
    '--bind', dirs.workspace, dirs.workspace,
    '--chdir', dirs.workspace,
    '--',
  ];
}
