import { execFile } from 'node:child_process';
import fs from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';
import type { SandboxPolicy } from './sandbox-policy.ts';

const execFileAsync = promisify(execFile);

/**
 * Gives the sandbox user the directories its commands write (when it is not the worker's own
 * user), and lets it pass through their parent. Symbolic links are changed themselves, never
 * followed: a repository can hold links to anywhere.
 */
export async function handOverToSandbox(policy: SandboxPolicy, dirs: string[]): Promise<void> {
  if (!policy.user) return;
  for (const parent of new Set(dirs.map((dir) => path.dirname(dir)))) {
    const { mode } = await fs.stat(parent);
    await fs.chmod(parent, mode | 0o111);
  }
  await execFileAsync('chown', ['-R', '-P', '--no-dereference', `${policy.user.uid}:${policy.user.gid}`, '--', ...dirs]);
}
