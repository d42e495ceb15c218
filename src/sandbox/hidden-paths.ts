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
  /** The PATH the sandbox gets: directories on it stay visible even inside a hidden home. */
  pathEnv: string;
}

function inside(child: string, parent: string): boolean {
  const relative = path.relative(parent, child);
  return relative === '' || (!relative.startsWith('..') && !path.isAbsolute(relative));
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
 * other tasks' checkouts, the worker's home and key files. A home that holds the tools on PATH
 * (a Node version manager, say) stays visible, or nothing would run.
 */
export async function hiddenPaths(host: HostFacts): Promise<SandboxPolicy['hidden']> {
  const pathDirs = host.pathEnv.split(':').filter((dir) => path.isAbsolute(dir));
  const dirs = ['/tmp', '/var/tmp', '/run', host.workdir];
  if (!pathDirs.some((dir) => inside(dir, host.home))) dirs.push(host.home);
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
