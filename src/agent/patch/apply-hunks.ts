import type { Hunk } from './parse-patch.ts';

// Locates each hunk by its context and removed lines (exactly, then ignoring trailing
// whitespace, then ignoring indentation) and says precisely where a hunk stops matching when it
// cannot be placed, since that is what the model needs to fix the patch.

export class HunkError extends Error {
  override name = 'HunkError';
}

export interface AppliedHunks {
  content: string;
  /** Hunks that matched only when whitespace was ignored: worth a look by the model. */
  fuzzy: number[];
}

const NORMALIZERS: Array<(line: string) => string> = [(l) => l, (l) => l.trimEnd(), (l) => l.trim()];
const LINE_NUMBER_PREFIX = /^\s*\d+\| /;

function show(line: string | undefined): string {
  if (line === undefined) return '(end of file)';
  return JSON.stringify(line.length > 160 ? `${line.slice(0, 160)}…` : line);
}

function matchesAt(lines: string[], block: string[], at: number, normalize: (l: string) => string): boolean {
  if (at + block.length > lines.length) return false;
  for (let k = 0; k < block.length; k++) if (normalize(lines[at + k]!) !== normalize(block[k]!)) return false;
  return true;
}

function findLine(lines: string[], wanted: string, from: number): number {
  for (const normalize of NORMALIZERS) {
    const target = normalize(wanted);
    for (let at = from; at < lines.length; at++) if (normalize(lines[at]!) === target) return at;
  }
  return -1;
}

/** Why the block is not in the file: the longest leading part that does match, and where it breaks. */
function diagnose(lines: string[], block: string[], from: number): string {
  let best = { at: -1, length: 0 };
  const trimmed = (l: string) => l.trim();
  for (let at = from; at < lines.length; at++) {
    let length = 0;
    while (length < block.length && at + length < lines.length && trimmed(lines[at + length]!) === trimmed(block[length]!)) length++;
    if (length > best.length) best = { at, length };
  }
  const hints: string[] = [];
  if (block.some((line) => LINE_NUMBER_PREFIX.test(line))) {
    hints.push('Some lines start with "NN| ": that is read_file\'s line numbering, not file content; remove it.');
  }
  if (best.length === 0) {
    hints.unshift(`Its first line ${show(block[0])} is not in the file${from > 0 ? ` after line ${from}` : ''}.`);
  } else {
    const breakAt = best.at + best.length;
    hints.unshift(
      `Its first ${best.length} line(s) match the file at line ${best.at + 1}, but hunk line ${best.length + 1} ${show(block[best.length])} differs from the file's line ${breakAt + 1}: ${show(lines[breakAt])}.`,
    );
  }
  return hints.join(' ');
}

export function applyHunks(original: string, hunks: Hunk[]): AppliedHunks {
  const endsWithNewline = original.endsWith('\n') || original === '';
  const lines = original === '' ? [] : original.split('\n');
  if (original.endsWith('\n')) lines.pop();
  const edits: Array<{ at: number; remove: number; insert: string[] }> = [];
  const fuzzy: number[] = [];
  let cursor = 0;

  hunks.forEach((hunk, index) => {
    const label = `hunk ${index + 1}`;
    const oldBlock = hunk.lines.filter((l) => l.op !== '+').map((l) => l.text);
    const newBlock = hunk.lines.filter((l) => l.op !== '-').map((l) => l.text);
    let from = cursor;
    for (const anchor of hunk.anchors) {
      const at = findLine(lines, anchor, from);
      if (at === -1) throw new HunkError(`${label}: its @@ line ${show(anchor)} is not in the file${from > 0 ? ` after line ${from}` : ''}.`);
      // The anchor line itself may be the hunk's first context line.
      from = at;
    }
    if (oldBlock.length === 0) {
      // Pure insertion: unified diffs say after which line; otherwise at the end.
      const at = hunk.oldStart !== undefined && !hunk.atEnd ? Math.min(Math.max(hunk.oldStart, from), lines.length) : lines.length;
      edits.push({ at, remove: 0, insert: newBlock });
      cursor = at;
      return;
    }
    for (const [level, normalize] of NORMALIZERS.entries()) {
      const candidates: number[] = [];
      if (hunk.atEnd) {
        const at = lines.length - oldBlock.length;
        if (at >= from && matchesAt(lines, oldBlock, at, normalize)) candidates.push(at);
      } else {
        for (let at = from; at + oldBlock.length <= lines.length; at++) if (matchesAt(lines, oldBlock, at, normalize)) candidates.push(at);
      }
      if (!candidates.length) continue;
      let at = candidates[0]!;
      if (candidates.length > 1) {
        if (hunk.oldStart !== undefined) {
          const hint = hunk.oldStart - 1;
          at = candidates.reduce((best, c) => (Math.abs(c - hint) < Math.abs(best - hint) ? c : best));
        } else if (!hunk.anchors.length) {
          const where = candidates.slice(0, 5).map((c) => c + 1).join(', ');
          throw new HunkError(`${label}: its context and removed lines occur ${candidates.length} times (at lines ${where}); add more unchanged lines around the change, or an "@@ <line>" naming the function or class it is in.`);
        }
      }
      if (level > 0) fuzzy.push(index + 1);
      edits.push({ at, remove: oldBlock.length, insert: newBlock });
      cursor = at + oldBlock.length;
      return;
    }
    throw new HunkError(`${label} does not match the file. ${diagnose(lines, oldBlock, from)} Read the lines again with read_file and copy the context exactly.`);
  });

  const result: string[] = [];
  let position = 0;
  for (const edit of edits) {
    result.push(...lines.slice(position, edit.at), ...edit.insert);
    position = edit.at + edit.remove;
  }
  result.push(...lines.slice(position));
  const content = result.join('\n');
  return { content: endsWithNewline && result.length ? `${content}\n` : content, fuzzy };
}
