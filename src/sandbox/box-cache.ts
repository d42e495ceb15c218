import { createReadStream, createWriteStream } from 'node:fs';
import fs from 'node:fs/promises';
import { finished } from 'node:stream/promises';
import type { TaskBox } from './task-box.ts';

// The package managers' download caches in the box's home: what makes a second setup fast.
const CACHED = ['.npm', '.cache', '.local/share/pnpm', '.yarn/berry/cache', 'go/pkg/mod', '.cargo/registry', '.cargo/git', '.m2/repository', '.gradle/caches', '.bun/install/cache'];

/** Unpacks a cache archive into the box's home, inside the box. */
export async function restoreHomeCache(box: TaskBox, archive: string, signal?: AbortSignal): Promise<boolean> {
  const result = await box.run('tar -x -f - -C "$HOME" --no-same-owner 2>&1 | tail -3', { timeoutMs: 10 * 60_000, signal, stdin: createReadStream(archive) });
  return result.exitCode === 0;
}

/**
 * Packs the box's package caches, inside the box, into `archive` on the host (bytes only, at
 * most `maxBytes`); false when there was nothing to pack or it did not fit.
 */
export async function saveHomeCache(box: TaskBox, archive: string, maxBytes: number, signal?: AbortSignal): Promise<boolean> {
  const list = CACHED.map((dir) => `[ -d "${dir}" ] && printf '%s\\n' "${dir}"`).join('; ');
  const out = createWriteStream(archive, { mode: 0o600 });
  const result = await box.run(`cd "$HOME" && dirs="$( { ${list}; } || true)" && [ -n "$dirs" ] && printf '%s\\n' "$dirs" | tar -c -f - -T - 2>/dev/null`, {
    timeoutMs: 10 * 60_000,
    signal,
    stdout: out,
    maxOutputBytes: maxBytes,
  });
  out.end();
  await finished(out).catch(() => {});
  if (result.exitCode === 0 && !result.outputExceeded) return true;
  await fs.rm(archive, { force: true });
  return false;
}
