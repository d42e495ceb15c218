import crypto from 'node:crypto';
import fs from 'node:fs/promises';
import path from 'node:path';
import { hostGit, type Workspace } from './prepare-workspace.ts';

/**
 * Package managers' download caches, one archive per repository and dependency state, under a
 * disk cap (least recently used out first). The host only stores and moves the archives: they
 * are made and unpacked inside the box, never read on the host.
 */
export interface DependencyCache {
  root: string;
  maxBytes: number;
}

// What decides which dependencies a repository installs: manifests and lockfiles, anywhere but
// in vendored or installed trees.
const DEPENDENCY_FILES = /(^|\/)(package(-lock)?\.json|npm-shrinkwrap\.json|pnpm-lock\.yaml|yarn\.lock|bun\.lockb?|requirements[^/]*\.txt|poetry\.lock|Pipfile(\.lock)?|uv\.lock|pyproject\.toml|setup\.(py|cfg)|Cargo\.(lock|toml)|go\.(mod|sum)|pom\.xml|build\.gradle(\.kts)?|gradle\.lockfile)$/;
const SKIPPED = /(^|\/)(node_modules|vendor|third_party)\//;

/** The cache key of the task's starting commit: its dependency files' contents, plus `also` (the setup command, the toolchains). */
export async function dependencyKey(workspace: Workspace, also: string[]): Promise<string> {
  const listing = await hostGit(workspace, ['ls-tree', '-r', '-z', '--full-tree', workspace.baseSha]);
  const hash = crypto.createHash('sha256');
  for (const part of also) hash.update(`${part}\0`);
  for (const entry of listing.split('\0')) {
    const [meta = '', file = ''] = entry.split('\t');
    if (DEPENDENCY_FILES.test(file) && !SKIPPED.test(file)) hash.update(`${file}\0${meta.split(' ')[2] ?? ''}\0`);
  }
  return hash.digest('hex').slice(0, 40);
}

export function cacheEntry(cache: DependencyCache, repoId: number, key: string): string {
  return path.join(cache.root, `${repoId}-${key}.tar`);
}

/** The entry when it holds an archive (marked as used now), else null. */
export async function usableEntry(entry: string): Promise<string | null> {
  const stat = await fs.lstat(entry).catch(() => null);
  if (!stat?.isFile() || stat.size === 0) return null;
  const now = new Date();
  await fs.utimes(entry, now, now).catch(() => {});
  return entry;
}

/** Moves a finished archive into the cache, then keeps the cache under its cap. */
export async function adoptEntry(cache: DependencyCache, archive: string, entry: string): Promise<void> {
  const stat = await fs.lstat(archive);
  if (!stat.isFile() || stat.size === 0 || stat.size > cache.maxBytes) {
    await fs.rm(archive, { force: true });
    return;
  }
  await fs.mkdir(cache.root, { recursive: true });
  await fs.rename(archive, entry);
  await evictDependencyCaches(cache, entry);
}

/**
 * Removes the least recently used archives (never `keep`) until the cache is under its cap, and
 * archives a stopped worker left half-written.
 */
export async function evictDependencyCaches(cache: DependencyCache, keep?: string): Promise<string[]> {
  const all = await fs.readdir(cache.root).catch(() => [] as string[]);
  for (const name of all.filter((n) => n.endsWith('.partial'))) {
    const stat = await fs.lstat(path.join(cache.root, name)).catch(() => null);
    if (stat && Date.now() - stat.mtimeMs > 3_600_000) await fs.rm(path.join(cache.root, name), { force: true });
  }
  const names = all.filter((name) => name.endsWith('.tar'));
  const entries = (
    await Promise.all(names.map(async (name) => ({ file: path.join(cache.root, name), stat: await fs.lstat(path.join(cache.root, name)).catch(() => null) })))
  ).filter((e) => e.stat?.isFile());
  let total = entries.reduce((sum, e) => sum + (e.stat?.size ?? 0), 0);
  const evicted: string[] = [];
  for (const entry of entries.sort((a, b) => (a.stat?.mtimeMs ?? 0) - (b.stat?.mtimeMs ?? 0))) {
    if (total <= cache.maxBytes) break;
    if (entry.file === keep) continue;
    await fs.rm(entry.file, { force: true });
    total -= entry.stat?.size ?? 0;
    evicted.push(entry.file);
  }
  return evicted;
}
