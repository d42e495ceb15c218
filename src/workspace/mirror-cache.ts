import crypto from 'node:crypto';
import fs from 'node:fs/promises';
import path from 'node:path';
import { git, gitWithRetry, retryTransient } from './git.ts';
import { withDirLock } from './dir-lock.ts';

/**
 * One bare mirror per repository under `root`, shared by every worker process of the host: a
 * task fetches only what changed into it, then clones locally from it (hard links, no network).
 * Disk use stays under `maxBytes` by evicting the least recently used mirrors.
 */
export interface MirrorCache {
  root: string;
  maxBytes: number;
}

export interface MirrorCheckout {
  cloneUrl: string;
  branch: string;
  token: string;
  /** Where the task's bare repository goes. */
  gitDir: string;
  signal?: AbortSignal;
}

const LAST_USED = 'ai-fix-last-used';

function mirrorName(cloneUrl: string): string {
  // The token never is part of the URL; the hash keeps path characters out of the name.
  const url = new URL(cloneUrl);
  return `${crypto.createHash('sha256').update(`${url.host}${url.pathname}`).digest('hex').slice(0, 24)}.git`;
}

async function fetchInto(mirror: string, spec: MirrorCheckout): Promise<void> {
  const fresh = !(await fs.stat(path.join(mirror, 'HEAD')).catch(() => null));
  if (fresh) {
    // A clone rather than init + fetch: git then trusts the pack it received to be complete and
    // skips the walk over every object that a fetch does to check connectivity. gc must not run
    // detached, outside the lock, while another task clones from the mirror.
    await retryTransient(async () => {
      await fs.rm(mirror, { recursive: true, force: true });
      await git(['clone', '--bare', '--quiet', '--no-tags', '--single-branch', '--branch', spec.branch, '--config', 'gc.autoDetach=false', spec.cloneUrl, mirror], { token: spec.token, signal: spec.signal });
    }, spec.signal);
    // Every fetch names the URL; the mirror keeps no remote of its own.
    await git([`--git-dir=${mirror}`, 'config', '--remove-section', 'remote.origin']);
    return;
  }
  await gitWithRetry([`--git-dir=${mirror}`, 'fetch', '--quiet', '--no-tags', '--prune', spec.cloneUrl, `+refs/heads/${spec.branch}:refs/heads/${spec.branch}`], {
    token: spec.token,
    signal: spec.signal,
  });
}

/**
 * Fetches `branch` into the repository's mirror and clones it from there, bare, into `gitDir`
 * (hard links, no network), with `origin` pointing at `cloneUrl` as a network clone's would. A
 * mirror that cannot be updated is rebuilt once from scratch.
 */
export async function cloneThroughMirror(cache: MirrorCache, spec: MirrorCheckout): Promise<void> {
  await fs.mkdir(cache.root, { recursive: true });
  const mirror = path.join(cache.root, mirrorName(spec.cloneUrl));
  await withDirLock(`${mirror}.lock`, spec.signal, async () => {
    try {
      await fetchInto(mirror, spec);
    } catch (err) {
      if (spec.signal?.aborted) throw err;
      await fs.rm(mirror, { recursive: true, force: true });
      await fetchInto(mirror, spec);
    }
    await fs.rm(spec.gitDir, { recursive: true, force: true });
    await git(['clone', '--bare', '--quiet', '--no-tags', '--single-branch', '--branch', spec.branch, mirror, spec.gitDir], { signal: spec.signal });
    await fs.writeFile(path.join(mirror, LAST_USED), `${Date.now()}\n`);
  });
  await git([`--git-dir=${spec.gitDir}`, 'remote', 'set-url', 'origin', spec.cloneUrl]);
  await evictMirrors(cache, mirror);
}

async function sizeOf(dir: string): Promise<number> {
  let total = 0;
  for (const entry of await fs.readdir(dir, { withFileTypes: true, recursive: true }).catch(() => [])) {
    if (entry.isFile()) total += (await fs.stat(path.join(entry.parentPath, entry.name)).catch(() => ({ size: 0 }))).size;
  }
  return total;
}

/** Removes the least recently used mirrors (never `keep`, never one in use) until under the cap. */
export async function evictMirrors(cache: MirrorCache, keep?: string): Promise<string[]> {
  const names = (await fs.readdir(cache.root).catch(() => [])).filter((name) => name.endsWith('.git'));
  const mirrors = await Promise.all(
    names.map(async (name) => {
      const dir = path.join(cache.root, name);
      const lastUsed = (await fs.stat(path.join(dir, LAST_USED)).catch(() => null))?.mtimeMs ?? 0;
      return { dir, lastUsed, bytes: await sizeOf(dir) };
    }),
  );
  let total = mirrors.reduce((sum, m) => sum + m.bytes, 0);
  const evicted: string[] = [];
  for (const mirror of mirrors.sort((a, b) => a.lastUsed - b.lastUsed)) {
    if (total <= cache.maxBytes) break;
    if (mirror.dir === keep) continue;
    const removed = await withDirLock(`${mirror.dir}.lock`, undefined, async () => {
      await fs.rm(mirror.dir, { recursive: true, force: true });
      return true;
    }, { wait: false });
    if (!removed) continue;
    total -= mirror.bytes;
    evicted.push(mirror.dir);
  }
  return evicted;
}
