import fs from 'node:fs/promises';
import path from 'node:path';

const HEADER = '# Benchmarks\n\nFigures measured by `npm run bench`; each part rewrites its own section.\n';

/** Replaces one part's section of docs/benchmarks.md (between its markers), leaving the others. */
export async function writeBenchmarkSection(root: string, part: string, markdown: string): Promise<void> {
  const file = path.join(root, 'docs/benchmarks.md');
  const start = `<!-- bench:${part} -->`;
  const end = `<!-- /bench:${part} -->`;
  const section = `${start}\n${markdown.trim()}\n${end}`;
  const current = await fs.readFile(file, 'utf8').catch(() => HEADER);
  const from = current.indexOf(start);
  const to = current.indexOf(end);
  const next = from >= 0 && to > from ? current.slice(0, from) + section + current.slice(to + end.length) : `${current.trimEnd()}\n\n${section}\n`;
  await fs.mkdir(path.dirname(file), { recursive: true });
  await fs.writeFile(file, next);
}
