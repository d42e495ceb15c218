import { createHash } from 'node:crypto';

const digest = (content: string) => createHash('sha1').update(content).digest('hex');

/**
 * What the model last saw of each file (through its reads and its own edits), so an edit based on
 * an outdated view (the file changed since, say by a formatter it ran) is refused with a reason
 * instead of silently clobbering the newer content. One per agent run.
 */
export class FileViews {
  readonly #seen = new Map<string, string>();

  record(relative: string, content: string): void {
    this.#seen.set(relative, digest(content));
  }

  forget(relative: string): void {
    this.#seen.delete(relative);
  }

  /** True when the model saw this file and it has changed since. */
  isStale(relative: string, current: string): boolean {
    const seen = this.#seen.get(relative);
    return seen !== undefined && seen !== digest(current);
  }
}

export function staleViewMessage(relative: string): string {
  return `${relative} changed since you last read it (a command you ran, or an earlier edit, rewrote it), so your edit is based on an outdated view. read_file it again and redo the edit against its current text.`;
}
