import { createHash } from 'node:crypto';
import fs from 'node:fs/promises';
import path from 'node:path';
import { git } from './git.ts';

/**
 * A digest of the working tree's changes: git's status plus the size and modification time of
 * every changed path. Equal digests before and after a command mean it changed no file (git's
 * stat cache keeps this fast on large repositories; ignored files do not count).
 */
export async function worktreeFingerprint(root: string, gitDir: string, signal?: AbortSignal): Promise<string> {
  const status = await git(['status', '--porcelain=v1', '-z', '--untracked-files=all', '--no-renames'], { cwd: root, gitDir, signal });
  const hash = createHash('sha1').update(status);
  for (const entry of status.split('\0')) {
    if (entry.length < 4) continue;
    const stat = await fs.lstat(path.join(root, entry.slice(3))).catch(() => undefined);
    hash.update(`\0${stat ? `${stat.size}:${stat.mtimeMs}` : '-'}`);
  }
  return hash.digest('hex');
}
