import fs from 'node:fs/promises';
import path from 'node:path';
import { globMatcher, hasWildcards } from '../util/glob.ts';
import { readRegularFile } from '../util/regular-file.ts';

/**
 * A bounded, link-proof view of a checkout for guessing how it is built: directories are only
 * entered when their parent's listing says they are real directories, not links (a link could
 * lead out of the checkout),
 * files are only read when they are regular files, and the whole look costs at most
 * `budget` directory listings of at most `MAX_ENTRIES` names each, however big the repository.
 */
export interface Layout {
  readonly root: string;
  budget: number;
  readonly listings: Map<string, Map<string, EntryKind> | null>;
}

export type EntryKind = 'file' | 'dir' | 'other';

const MAX_ENTRIES = 1000;
const DEFAULT_BUDGET = 300;

/** The names detection looks for, so that a directory too big to list whole still shows them. */
const WELL_KNOWN_NAMES = [
  'package.json', 'pnpm-lock.yaml', 'yarn.lock', 'bun.lock', 'bun.lockb', 'package-lock.json', 'npm-shrinkwrap.json',
  'pnpm-workspace.yaml', '.yarnrc.yml', 'node_modules',
  'pyproject.toml', 'setup.py', 'setup.cfg', 'tox.ini', 'pytest.ini', 'conftest.py', '__init__.py', 'tests', 'test',
  'go.mod', 'go.work', 'Cargo.toml', 'pom.xml', 'mvnw', 'build.gradle', 'build.gradle.kts', 'settings.gradle', 'settings.gradle.kts', 'gradlew',
  'GNUmakefile', 'makefile', 'Makefile', 'packages', 'apps', 'services', 'crates',
];

export function openLayout(root: string, budget = DEFAULT_BUDGET): Layout {
  return { root, budget, listings: new Map() };
}

/** `rel` in slash form without `./` or a trailing slash; '' is the root. */
export function join(...parts: string[]): string {
  const joined = path.posix.join(...parts.filter((p) => p !== '' && p !== '.'));
  return joined === '.' ? '' : joined;
}

function absolute(layout: Layout, rel: string): string {
  return rel ? path.join(layout.root, ...rel.split('/')) : layout.root;
}

/**
 * The names in a directory, entered only when its parent's listing calls it a directory (so
 * never through a link); links and special files are listed as `other`. Null when it is not a
 * real directory, is unreadable or the budget is spent.
 */
export async function list(layout: Layout, rel: string): Promise<Map<string, EntryKind> | null> {
  const cached = layout.listings.get(rel);
  if (cached !== undefined) return cached;
  if (rel !== '' && (await kindOf(layout, rel)) !== 'dir') return null;
  if (layout.budget <= 0) return null;
  layout.budget--;
  let entries: Map<string, EntryKind> | null;
  try {
    const found: Array<[string, EntryKind]> = [];
    const handle = await fs.opendir(absolute(layout, rel), { bufferSize: 256 });
    try {
      for await (const entry of handle) {
        found.push([entry.name, entry.isFile() ? 'file' : entry.isDirectory() ? 'dir' : 'other']);
        if (found.length >= MAX_ENTRIES) break;
      }
    } finally {
      await handle.close().catch(() => undefined);
    }
    if (found.length >= MAX_ENTRIES) {
      // A cut-off listing may have missed a marker: ask for each by name instead.
      const seen = new Set(found.map(([name]) => name));
      for (const name of WELL_KNOWN_NAMES.filter((n) => !seen.has(n))) {
        const stat = await fs.lstat(path.join(absolute(layout, rel), name)).catch(() => null);
        if (stat) found.push([name, stat.isFile() ? 'file' : stat.isDirectory() ? 'dir' : 'other']);
      }
    }
    // Sorted, so the same checkout always gives the same command.
    entries = new Map(found.sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
  } catch {
    entries = null;
  }
  layout.listings.set(rel, entries);
  return entries;
}

export async function kindOf(layout: Layout, rel: string): Promise<EntryKind | null> {
  if (rel === '') return 'dir';
  const parent = path.posix.dirname(rel);
  const entries = await list(layout, parent === '.' ? '' : parent);
  return entries?.get(path.posix.basename(rel)) ?? null;
}

export async function isFile(layout: Layout, rel: string): Promise<boolean> {
  return (await kindOf(layout, rel)) === 'file';
}

export async function isDir(layout: Layout, rel: string): Promise<boolean> {
  return (await kindOf(layout, rel)) === 'dir';
}

/** A regular file's text, never through a link or from a FIFO; null otherwise. */
export async function readText(layout: Layout, rel: string, maxBytes = 1024 * 1024): Promise<string | null> {
  if (!(await isFile(layout, rel))) return null;
  try {
    return (await readRegularFile(absolute(layout, rel), maxBytes)).toString('utf8');
  } catch {
    return null;
  }
}

/** Whether `rel` is executable by its owner (a committed `gradlew` or `mvnw` may not be). */
export async function isExecutable(layout: Layout, rel: string): Promise<boolean> {
  if (!(await isFile(layout, rel))) return false;
  const stat = await fs.lstat(absolute(layout, rel)).catch(() => null);
  return !!stat && stat.isFile() && (stat.mode & 0o100) !== 0;
}

/**
 * The real directories on the way to `rel` (a path someone wrote, e.g. in an issue), deepest
 * first, stopping at the first part that is missing, a link or a file; the root is left out.
 */
export async function directoriesToward(layout: Layout, rel: string): Promise<string[]> {
  const parts = safeRelative(rel)?.split('/') ?? [];
  const found: string[] = [];
  for (let i = 1; i <= parts.length; i++) {
    const prefix = parts.slice(0, i).join('/');
    if (!(await isDir(layout, prefix))) break;
    found.push(prefix);
  }
  return found.reverse();
}

/** A slash-separated path inside the checkout, or null for absolute paths and `..`. */
export function safeRelative(raw: string): string | null {
  const normal = path.posix.normalize(raw.replace(/\\/g, '/').replace(/^\.\/+/, '')).replace(/\/+$/, '');
  if (!normal || normal === '.' || normal.startsWith('/') || normal === '..' || normal.startsWith('../')) return null;
  return normal;
}

/**
 * Directories matching workspace globs (`packages/*`, `apps/**`, `libs/*\/core`); `**` looks two
 * levels down at most and `!` globs take directories out.
 */
export async function expandDirectoryGlobs(layout: Layout, globs: readonly string[], limit = 200): Promise<string[]> {
  const found = new Set<string>();
  const excluded = globs
    .filter((g) => g.startsWith('!'))
    .map((g) => safeRelative(g.slice(1)))
    .filter((g): g is string => !!g)
    .map(globMatcher);
  for (const raw of globs) {
    if (raw.startsWith('!')) continue;
    const glob = safeRelative(raw);
    if (!glob) continue;
    let current = [''];
    for (const segment of glob.split('/')) {
      const next: string[] = [];
      const matches = segment !== '**' && hasWildcards(segment) ? globMatcher(segment) : undefined;
      for (const dir of current) {
        if (segment === '**') {
          next.push(dir, ...(await subdirectories(layout, dir, 2)));
        } else if (matches) {
          for (const [name, kind] of (await list(layout, dir)) ?? []) {
            if (kind === 'dir' && !name.startsWith('.') && matches(name)) next.push(join(dir, name));
          }
        } else if (await isDir(layout, join(dir, segment))) {
          next.push(join(dir, segment));
        }
        if (next.length > limit) break;
      }
      current = next;
    }
    for (const dir of current) {
      if (dir && !excluded.some((matches) => matches(dir))) found.add(dir);
      if (found.size >= limit) return [...found];
    }
  }
  return [...found];
}

async function subdirectories(layout: Layout, dir: string, depth: number): Promise<string[]> {
  if (depth === 0) return [];
  const out: string[] = [];
  for (const [name, kind] of (await list(layout, dir)) ?? []) {
    if (kind !== 'dir' || name.startsWith('.') || name === 'node_modules') continue;
    const child = join(dir, name);
    out.push(child, ...(await subdirectories(layout, child, depth - 1)));
  }
  return out;
}

// `a/b.ext`-looking tokens: at least one slash and an extension, not part of a URL.
const PATH_TOKEN = /(?<![\w:/.@+-])(?:\.\/)?((?:[\w@.+-]+\/)+[\w@.+-]*\.[A-Za-z0-9]{1,10})(?![\w/])/g;

/** Paths an issue names (`packages/web/src/x.ts`, `./lib/a.py:12`), in order, once each. */
export function mentionedPaths(...texts: Array<string | { title: string; body: string; comments?: ReadonlyArray<{ body: string }> }>): string[] {
  const found = new Set<string>();
  for (const text of texts.flatMap((t) => (typeof t === 'string' ? [t] : [t.title, t.body, ...(t.comments ?? []).map((c) => c.body)]))) {
    for (const match of text.matchAll(PATH_TOKEN)) {
      const rel = safeRelative(match[1] ?? '');
      if (rel && !rel.split('/').includes('..')) found.add(rel);
      if (found.size >= 50) return [...found];
    }
  }
  return [...found];
}
