import fs from 'node:fs';
import path from 'node:path';
import { parseEnv } from 'node:util';
import { ConfigError } from '../util/errors.ts';

/**
 * Reads `.env` from `dir` (where Probot's registration writes it: the working directory) into
 * `target`, leaving every variable the real environment already sets: those win, as with
 * dotenv. Returns the names it set.
 */
export function loadDotEnv(dir: string = process.cwd(), target: NodeJS.ProcessEnv = process.env): string[] {
  const file = path.join(dir, '.env');
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw new ConfigError(`.env: cannot read ${file} (${(err as Error).message}); fix its permissions or remove it`);
  }
  const loaded: string[] = [];
  for (const [name, value] of Object.entries(parseEnv(text))) {
    if (value === undefined || (target[name] !== undefined && target[name] !== '')) continue;
    target[name] = value;
    loaded.push(name);
  }
  return loaded;
}
