// Reads the two patch formats models write: unified diffs (as `git diff` prints them) and the
// "*** Begin Patch" format Codex models are trained on. Line numbers and counts in unified
// hunks are kept as hints only: models get them wrong, the context lines are what locate a hunk.

export interface PatchLine {
  op: ' ' | '-' | '+';
  text: string;
}

export interface Hunk {
  /** `@@ <line>` markers of the Begin Patch format: lines (a function, a class) the hunk follows. */
  anchors: string[];
  /** The old start line of a unified hunk. */
  oldStart?: number;
  lines: PatchLine[];
  /** The hunk must match at the end of the file. */
  atEnd: boolean;
}

export type FilePatch =
  | { kind: 'add'; path: string; content: string }
  | { kind: 'delete'; path: string }
  | { kind: 'update'; path: string; moveTo?: string; hunks: Hunk[] };

export class PatchSyntaxError extends Error {
  override name = 'PatchSyntaxError';
}

const FILE_HEADER = /^\*\*\* (Add|Delete|Update) File: (.+)$/;
const UNIFIED_HUNK = /^@@ -(\d+)(?:,\d+)? \+\d+(?:,\d+)? @@/;

function quote(line: string): string {
  return JSON.stringify(line.length > 120 ? `${line.slice(0, 120)}…` : line);
}

function hunkLine(line: string): PatchLine | undefined {
  const op = line[0];
  if (op === ' ' || op === '-' || op === '+') return { op, text: line.slice(1) };
  // Editors and models drop the space of an empty context line.
  if (line === '') return { op: ' ', text: '' };
  return undefined;
}

function parseBeginPatch(lines: string[]): FilePatch[] {
  const patches: FilePatch[] = [];
  let i = 1;
  const isBoundary = (line: string) => FILE_HEADER.test(line) || line === '*** End Patch';
  while (i < lines.length) {
    const line = lines[i]!;
    if (line === '*** End Patch') return patches;
    const header = FILE_HEADER.exec(line);
    if (!header) {
      throw new PatchSyntaxError(`patch line ${i + 1}: expected "*** Add File: <path>", "*** Update File: <path>", "*** Delete File: <path>" or "*** End Patch", got ${quote(line)}`);
    }
    const [, kind, path = ''] = header;
    const filePath = path.trim();
    i++;
    if (kind === 'Delete') {
      patches.push({ kind: 'delete', path: filePath });
    } else if (kind === 'Add') {
      const body: string[] = [];
      for (; i < lines.length && !isBoundary(lines[i]!); i++) {
        const added = lines[i]!;
        if (!added.startsWith('+')) {
          throw new PatchSyntaxError(`patch line ${i + 1}: every line of "*** Add File: ${filePath}" must start with +, got ${quote(added)}`);
        }
        body.push(added.slice(1));
      }
      patches.push({ kind: 'add', path: filePath, content: body.length ? `${body.join('\n')}\n` : '' });
    } else {
      let moveTo: string | undefined;
      if (lines[i]?.startsWith('*** Move to: ')) moveTo = lines[i++]!.slice('*** Move to: '.length).trim();
      const hunks: Hunk[] = [];
      let hunk: Hunk | undefined;
      for (; i < lines.length && !isBoundary(lines[i]!); i++) {
        const current = lines[i]!;
        if (current.startsWith('@@')) {
          const anchor = current.slice(2).trim();
          // Consecutive markers narrow down (class, then method) within one hunk.
          if (!hunk || hunk.lines.length) hunks.push((hunk = { anchors: [], lines: [], atEnd: false }));
          if (anchor) hunk.anchors.push(anchor);
        } else if (current === '*** End of File') {
          if (hunk) hunk.atEnd = true;
        } else {
          const parsed = hunkLine(current);
          if (!parsed) {
            throw new PatchSyntaxError(`patch line ${i + 1}: ${quote(current)} in the changes to ${filePath}: every line of a hunk starts with a space (unchanged context), - (removed) or + (added)`);
          }
          if (!hunk) hunks.push((hunk = { anchors: [], lines: [], atEnd: false }));
          hunk.lines.push(parsed);
        }
      }
      const changes = hunks.filter((h) => h.lines.length);
      if (!changes.length && !moveTo) throw new PatchSyntaxError(`"*** Update File: ${filePath}" has no changes`);
      patches.push({ kind: 'update', path: filePath, ...(moveTo ? { moveTo } : {}), hunks: changes });
    }
  }
  return patches;
}

/** `a/src/x.ts`, `"b/with space"`, `/dev/null` (null), with an optional tab and timestamp. */
function diffPath(raw: string): string | null {
  let path = raw.split('\t')[0]!.trim();
  if (path.startsWith('"') && path.endsWith('"')) path = JSON.parse(path) as string;
  if (path === '/dev/null') return null;
  return path.replace(/^[ab]\//, '');
}

function parseUnifiedDiff(lines: string[]): FilePatch[] {
  const patches: FilePatch[] = [];
  let rename: { from?: string; to?: string } = {};
  const isFileStart = (at: number) =>
    lines[at]!.startsWith('diff --git ') || (lines[at]!.startsWith('--- ') && (lines[at + 1]?.startsWith('+++ ') ?? false));
  let i = 0;
  while (i < lines.length) {
    const line = lines[i]!;
    if (line.startsWith('diff --git ')) {
      rename = {};
      i++;
    } else if (line.startsWith('rename from ')) {
      rename.from = line.slice('rename from '.length);
      i++;
    } else if (line.startsWith('rename to ')) {
      rename.to = line.slice('rename to '.length);
      i++;
      // A pure rename has no --- / +++ lines before the next file.
      let next = i;
      while (next < lines.length && !isFileStart(next)) next++;
      if (rename.from && rename.to && (next === lines.length || lines[next]!.startsWith('diff --git '))) {
        patches.push({ kind: 'update', path: rename.from, moveTo: rename.to, hunks: [] });
        rename = {};
      }
    } else if (line.startsWith('Binary files ') || line === 'GIT binary patch') {
      throw new PatchSyntaxError(`patch line ${i + 1}: binary patches are not supported; use write_file or run_shell`);
    } else if (line.startsWith('--- ') && lines[i + 1]?.startsWith('+++ ')) {
      const from = diffPath(line.slice(4));
      const to = diffPath(lines[i + 1]!.slice(4));
      i += 2;
      const hunks: Hunk[] = [];
      while (i < lines.length && lines[i]!.startsWith('@@')) {
        const header = UNIFIED_HUNK.exec(lines[i]!);
        const hunk: Hunk = { anchors: [], lines: [], atEnd: false, ...(header ? { oldStart: Number(header[1]) } : {}) };
        for (i++; i < lines.length && !lines[i]!.startsWith('@@') && !isFileStart(i); i++) {
          const current = lines[i]!;
          if (current.startsWith('\\')) continue; // "\ No newline at end of file"
          const parsed = hunkLine(current);
          if (!parsed) {
            throw new PatchSyntaxError(`patch line ${i + 1}: ${quote(current)} in a hunk of ${to ?? from}: every line of a hunk starts with a space (unchanged context), - (removed) or + (added)`);
          }
          hunk.lines.push(parsed);
        }
        hunks.push(hunk);
      }
      if (from === null && to === null) throw new PatchSyntaxError(`patch line ${i}: both sides are /dev/null`);
      if (from === null) {
        const added = hunks.flatMap((h) => h.lines.filter((l) => l.op === '+').map((l) => l.text));
        patches.push({ kind: 'add', path: to!, content: added.length ? `${added.join('\n')}\n` : '' });
      } else if (to === null) {
        patches.push({ kind: 'delete', path: from });
      } else {
        if (!hunks.length && from === to) throw new PatchSyntaxError(`the diff of ${from} has no @@ hunks`);
        patches.push({ kind: 'update', path: from, ...(to !== from ? { moveTo: to } : {}), hunks });
      }
      rename = {};
    } else {
      // Anything around the diffs (a commit message, index lines, modes) carries no change.
      i++;
    }
  }
  return patches;
}

/** Parses either format; the error names the patch line and what it should have been. */
export function parsePatch(text: string): FilePatch[] {
  const lines = text.replace(/\r\n/g, '\n').split('\n');
  // Models wrap patches in markdown fences and leave blank lines around them.
  while (lines.length && (lines.at(-1)!.trim() === '' || lines.at(-1)!.startsWith('```'))) lines.pop();
  while (lines.length && (lines[0]!.trim() === '' || lines[0]!.startsWith('```'))) lines.shift();
  let patches: FilePatch[];
  if (lines[0]?.trim() === '*** Begin Patch') {
    lines[0] = '*** Begin Patch';
    patches = parseBeginPatch(lines);
  } else if (lines.some((line, i) => line.startsWith('--- ') && lines[i + 1]?.startsWith('+++ ')) || lines.some((l) => l.startsWith('diff --git '))) {
    patches = parseUnifiedDiff(lines);
  } else {
    throw new PatchSyntaxError(
      'the patch is in neither accepted format: a unified diff ("--- a/path", "+++ b/path", then "@@ -l,n +l,n @@" hunks) or "*** Begin Patch" … "*** End Patch" with "*** Update File: path" sections',
    );
  }
  if (!patches.length) throw new PatchSyntaxError('the patch changes no file');
  return patches;
}
