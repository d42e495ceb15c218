import fs from 'node:fs/promises';
import path from 'node:path';
import type { SandboxPolicy } from './sandbox-policy.ts';

export interface HostFacts {
  workdir: string;
  /** The worker's home: its git and npm config, keys, caches. */
  home: string;
  /** The worker's working directory, where Probot keeps `.env` and finds `*.pem` keys. */
  cwd: string;
  privateKeyPath?: string;
}

async function real(file: string): Promise<{ path: string; kind: 'dir' | 'file' } | null> {
  try {
    const resolved = await fs.realpath(file);
    return { path: resolved, kind: (await fs.stat(resolved)).isDirectory() ? 'dir' : 'file' };
  } catch {
    return null;
  }
}

/**
 * What a bwrap sandbox must not see of a host it otherwise views read-only: temp directories,
 * other tasks' checkouts, the worker's home and key files. Toolchains installed in the home are
 * shown again one by one (see toolchains.ts), never the home itself.
 */
export async function hiddenPaths(host: HostFacts): Promise<SandboxPolicy['hidden']> {
  const dirs = ['/tmp', '/var/tmp', '/run', host.workdir, host.home];
  const cwdEntries = await fs.readdir(host.cwd).catch(() => []);
  const files = [
    ...(host.privateKeyPath ? [path.resolve(host.cwd, host.privateKeyPath)] : []),
    ...cwdEntries.filter((name) => name === '.env' || name.endsWith('.pem')).map((name) => path.join(host.cwd, name)),
  ];
  const found = new Map<string, 'dir' | 'file'>();
  for (const candidate of [...dirs, ...files]) {
    const entry = await real(candidate);
    if (entry && entry.path !== '/') found.set(entry.path, entry.kind);
  }
  // Parents first, so a hidden directory never covers one hidden inside it afterwards.
  return [...found.entries()].map(([p, kind]) => ({ path: p, kind })).sort((a, b) => a.path.length - b.path.length);
}
