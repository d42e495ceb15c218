import fs from 'node:fs/promises';
import path from 'node:path';
import { isInside } from '../util/path-inside.ts';
import { readRegularFile } from '../util/regular-file.ts';

const INSTRUCTION_FILES = ['AGENTS.md', '.github/copilot-instructions.md', 'CLAUDE.md'];
const MAX_INSTRUCTIONS = 20_000;

/**
 * The repository's own instructions for coding agents, in the files the ecosystem uses. Only
 * files inside the checkout: a repository's `AGENTS.md` may be a link to `/proc/self/environ`.
 */
export async function readRepoInstructions(root: string): Promise<Array<{ source: string; text: string }>> {
  const found: Array<{ source: string; text: string }> = [];
  const realRoot = await fs.realpath(root);
  for (const file of INSTRUCTION_FILES) {
    try {
      const real = await fs.realpath(path.join(root, file));
      if (!isInside(realRoot, real)) continue;
      const text = (await readRegularFile(real, 4 * MAX_INSTRUCTIONS)).toString('utf8');
      if (text.trim()) found.push({ source: file, text: text.slice(0, MAX_INSTRUCTIONS) });
    } catch {
      // Most repositories have none of these.
    }
  }
  return found;
}

/** A short map of the tracked files: top-level entries and the number of files under each directory. */
export function repositoryMap(files: string[], maxEntries = 60): string {
  const counts = new Map<string, number>();
  for (const file of files) {
    const [top = file, ...rest] = file.split('/');
    const key = rest.length ? `${top}/` : top;
    counts.set(key, (counts.get(key) ?? 0) + 1);
  }
  const entries = [...counts.entries()].sort(([a], [b]) => a.localeCompare(b));
  const lines = entries.slice(0, maxEntries).map(([name, count]) => (name.endsWith('/') ? `${name} (${count} files)` : name));
  if (entries.length > maxEntries) lines.push(`… ${entries.length - maxEntries} more entries`);
  return `${files.length} tracked files\n${lines.join('\n')}`;
}
