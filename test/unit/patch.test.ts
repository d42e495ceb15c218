import { describe, expect, it } from '@jest/globals';
import { applyHunks, HunkError } from '../../src/agent/patch/apply-hunks.ts';
import { parsePatch, PatchSyntaxError, type Hunk } from '../../src/agent/patch/parse-patch.ts';

function errorOf(fn: () => unknown): string {
  try {
    fn();
  } catch (err) {
    expect(err instanceof PatchSyntaxError || err instanceof HunkError).toBe(true);
    return (err as Error).message;
  }
  throw new Error('expected an error');
}

const hunk = (lines: string, extra: Partial<Hunk> = {}): Hunk => ({
  anchors: [],
  atEnd: false,
  lines: lines.split('\n').map((l) => ({ op: l[0] as ' ' | '-' | '+', text: l.slice(1) })),
  ...extra,
});

describe('parsePatch: the Begin Patch format', () => {
  it('reads adds, deletes, updates with anchors, moves and end-of-file markers', () => {
    const patches = parsePatch(
      [
        '```',
        '*** Begin Patch',
        '*** Add File: src/new.ts',
        '+export const x = 1;',
        '*** Delete File: src/old.ts',
        '*** Update File: src/a.ts',
        '*** Move to: src/b.ts',
        '@@ class A',
        '@@ method() {',
        ' keep',
        '',
        '-gone',
        '+added',
        '*** End of File',
        '*** End Patch',
        '```',
      ].join('\n'),
    );
    expect(patches).toEqual([
      { kind: 'add', path: 'src/new.ts', content: 'export const x = 1;\n' },
      { kind: 'delete', path: 'src/old.ts' },
      {
        kind: 'update',
        path: 'src/a.ts',
        moveTo: 'src/b.ts',
        hunks: [{ anchors: ['class A', 'method() {'], atEnd: true, lines: [{ op: ' ', text: 'keep' }, { op: ' ', text: '' }, { op: '-', text: 'gone' }, { op: '+', text: 'added' }] }],
      },
    ]);
  });

  it('names the patch line and what it should be', () => {
    expect(errorOf(() => parsePatch('*** Begin Patch\n*** Change File: a\n*** End Patch'))).toMatch(/^patch line 2: expected "\*\*\* Add File/);
    expect(errorOf(() => parsePatch('*** Begin Patch\n*** Update File: a\n keep\nnot prefixed\n*** End Patch'))).toMatch(/^patch line 4: "not prefixed".*starts with a space/);
    expect(errorOf(() => parsePatch('*** Begin Patch\n*** Add File: a\nno plus\n*** End Patch'))).toContain('must start with +');
    expect(errorOf(() => parsePatch('*** Begin Patch\n*** Update File: a\n*** End Patch'))).toContain('has no changes');
    expect(errorOf(() => parsePatch('please change a to b'))).toContain('neither accepted format');
  });
});

describe('parsePatch: unified diffs', () => {
  it('reads git diff output: updates, new and deleted files, renames', () => {
    const diff = [
      'diff --git a/src/a.ts b/src/a.ts',
      'index 1111111..2222222 100644',
      '--- a/src/a.ts',
      '+++ b/src/a.ts',
      '@@ -10,3 +10,3 @@ function f() {',
      ' one',
      '-two',
      '+TWO',
      '\\ No newline at end of file',
      'diff --git a/n.txt b/n.txt',
      'new file mode 100644',
      '--- /dev/null',
      '+++ b/n.txt',
      '@@ -0,0 +1,2 @@',
      '+hello',
      '+world',
      'diff --git a/gone.txt b/gone.txt',
      'deleted file mode 100644',
      '--- a/gone.txt',
      '+++ /dev/null',
      '@@ -1 +0,0 @@',
      '-bye',
      'diff --git a/x.ts b/y.ts',
      'similarity index 100%',
      'rename from x.ts',
      'rename to y.ts',
    ].join('\n');
    expect(parsePatch(diff)).toEqual([
      { kind: 'update', path: 'src/a.ts', hunks: [{ anchors: [], atEnd: false, oldStart: 10, lines: [{ op: ' ', text: 'one' }, { op: '-', text: 'two' }, { op: '+', text: 'TWO' }] }] },
      { kind: 'add', path: 'n.txt', content: 'hello\nworld\n' },
      { kind: 'delete', path: 'gone.txt' },
      { kind: 'update', path: 'x.ts', moveTo: 'y.ts', hunks: [] },
    ]);
  });

  it('tells removed lines that look like headers apart from the next file', () => {
    const [patch] = parsePatch('--- a/sql.txt\n+++ b/sql.txt\n@@ -1,2 +1,2 @@\n--- a comment\n+-- changed\n keep\n');
    expect(patch).toMatchObject({ kind: 'update', hunks: [{ lines: [{ op: '-', text: '-- a comment' }, { op: '+', text: '-- changed' }, { op: ' ', text: 'keep' }] }] });
  });
});

describe('applyHunks', () => {
  const file = ['function a() {', '  return 1;', '}', '', 'function b() {', '  return 1;', '}', ''].join('\n');

  it('applies hunks in order and keeps the final newline', () => {
    const { content, fuzzy } = applyHunks(file, [hunk('-function a() {\n+function a(x) {'), hunk(' function b() {\n-  return 1;\n+  return 2;')]);
    expect(content).toBe(file.replace('a()', 'a(x)').replace('b() {\n  return 1;', 'b() {\n  return 2;'));
    expect(fuzzy).toEqual([]);
  });

  it('refuses an ambiguous hunk, and resolves it by anchor or line hint', () => {
    expect(errorOf(() => applyHunks(file, [hunk('-  return 1;\n+  return 3;')]))).toMatch(/occur 2 times \(at lines 2, 6\)/);
    expect(applyHunks(file, [hunk('-  return 1;\n+  return 3;', { anchors: ['function b() {'] })]).content).toContain('b() {\n  return 3;');
    expect(applyHunks(file, [hunk('-  return 1;\n+  return 3;', { oldStart: 5 })]).content).toContain('b() {\n  return 3;');
  });

  it('matches despite whitespace differences, and says so', () => {
    const { content, fuzzy } = applyHunks(file, [hunk(' function a() {\n-return 1;\n+  return 5;')]);
    expect(content).toContain('a() {\n  return 5;');
    expect(fuzzy).toEqual([1]);
  });

  it('says where a hunk stops matching', () => {
    const message = errorOf(() => applyHunks(file, [hunk(' function b() {\n-  return 7;\n+  return 8;')]));
    expect(message).toContain('first 1 line(s) match the file at line 5, but hunk line 2 "  return 7;" differs from the file\'s line 6: "  return 1;"');
    expect(errorOf(() => applyHunks(file, [hunk('-function c() {\n+x')]))).toContain('first line "function c() {" is not in the file');
    expect(errorOf(() => applyHunks(file, [hunk('- 1| function a() {\n+x')]))).toContain("read_file's line numbering");
    expect(errorOf(() => applyHunks(file, [hunk(' x', { anchors: ['class Nope'] })]))).toContain('@@ line "class Nope" is not in the file');
  });

  it('inserts pure additions after the hinted line, or at the end', () => {
    expect(applyHunks('a\nb\n', [hunk('+inserted', { oldStart: 1 })]).content).toBe('a\ninserted\nb\n');
    expect(applyHunks('a\nb\n', [hunk('+last')]).content).toBe('a\nb\nlast\n');
    expect(applyHunks('no newline', [hunk('-no newline\n+changed')]).content).toBe('changed');
  });
});
