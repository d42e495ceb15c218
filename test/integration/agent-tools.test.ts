import { execFileSync } from 'node:child_process';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { unisolatedAccess } from '../support/local-repo.ts';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { FileViews } from '../../src/agent/tools/file-views.ts';
import { defaultTools } from '../../src/agent/tools/index.ts';
import type { ToolContext, ToolResult } from '../../src/agent/tools/tool.ts';
import { ToolInputError } from '../../src/agent/tools/tool.ts';
import { runCommand } from '../../src/sandbox/run-command.ts';
import { sandboxEnv } from '../../src/sandbox/sandbox-env.ts';

let root: string;
let outside: string;
let context: ToolContext;

function tool(name: string) {
  const found = defaultTools.find((t) => t.name === name);
  if (!found) throw new Error(name);
  return found;
}

async function call(name: string, args: Record<string, unknown>): Promise<ToolResult> {
  return tool(name).run(args, context);
}

async function callError(name: string, args: Record<string, unknown>): Promise<string> {
  try {
    await call(name, args);
  } catch (err) {
    expect(err).toBeInstanceOf(ToolInputError);
    return (err as Error).message;
  }
  throw new Error(`${name} did not refuse`);
}

beforeAll(async () => {
  root = await fs.realpath(await fs.mkdtemp(path.join(os.tmpdir(), 'ai-fix-tools-')));
  outside = await fs.mkdtemp(path.join(os.tmpdir(), 'ai-fix-outside-'));
  await fs.writeFile(path.join(outside, 'secret.txt'), 'outside secret\n');
  await fs.mkdir(path.join(root, 'src'));
  await fs.mkdir(path.join(root, '.github/workflows'), { recursive: true });
  await fs.writeFile(path.join(root, 'src/a.ts'), Array.from({ length: 1000 }, (_, i) => `export const v${i + 1} = ${i + 1};`).join('\n') + '\n');
  await fs.writeFile(path.join(root, 'src/dup.ts'), 'x = 1;\nx = 1;\n');
  await fs.writeFile(path.join(root, '.github/workflows/ci.yml'), 'on: push\n');
  await fs.symlink(outside, path.join(root, 'escape'));
  await fs.symlink('.github/workflows', path.join(root, 'ci-link'));
  await fs.symlink(path.join(outside, 'not-yet'), path.join(root, 'dangling'));
  await fs.symlink(path.join(outside, 'no-dir'), path.join(root, 'dangling-dir'));
  await fs.symlink('.git', path.join(root, 'git-link'));
  execFileSync('git', ['init', '-q'], { cwd: root });
  execFileSync('git', ['add', '-A'], { cwd: root });
  execFileSync('git', ['-c', 'user.name=t', '-c', 'user.email=t@example.invalid', 'commit', '-q', '-m', 'initial'], { cwd: root });
  const signal = new AbortController().signal;
  context = {
    root,
    ...unisolatedAccess(root, os.tmpdir(), signal),
    runShell: (command, timeoutMs) => runCommand(command, { cwd: root, env: sandboxEnv(os.tmpdir(), { PATH: process.env.PATH ?? "" }), timeoutMs: timeoutMs ?? 10_000, outputLimit: 4096 }),
    testCommand: 'grep -q "v1 = 1;" src/a.ts',
    signal,
    protectedPaths: ['.github/workflows/**', 'secrets/**'],
    views: new FileViews(),
  };
});

afterAll(async () => {
  await fs.rm(root, { recursive: true, force: true });
  await fs.rm(outside, { recursive: true, force: true });
});

describe('read_file', () => {
  it('numbers lines and pages long files', async () => {
    const { output } = await call('read_file', { path: 'src/a.ts', start_line: null, end_line: null });
    expect(output).toContain('  1| export const v1 = 1;');
    expect(output).toContain('read on with start_line 401');
    expect(output).not.toContain('v401 =');
    const page = await call('read_file', { path: 'src/a.ts', start_line: 998, end_line: 2000 });
    expect(page.output).toContain('1000| export const v1000 = 1000;');
  });

  it('refuses paths outside the workspace, through symlinks, and into .git', async () => {
    expect(await callError('read_file', { path: '../x', start_line: null, end_line: null })).toContain('outside the repository');
    expect(await callError('read_file', { path: 'escape/secret.txt', start_line: null, end_line: null })).toContain('symbolic link');
    expect(await callError('read_file', { path: '.git/config', start_line: null, end_line: null })).toContain('.git');
    expect(await callError('read_file', { path: 'nope.ts', start_line: null, end_line: null })).toContain('no such file');
  });
});

describe('edit_file and write_file', () => {
  it('tells the model what to fix when the text is missing or ambiguous', async () => {
    expect(await callError('edit_file', { path: 'src/a.ts', old_string: 'not there', new_string: 'x' })).toContain('not found');
    expect(await callError('edit_file', { path: 'src/dup.ts', old_string: 'x = 1;', new_string: 'y' })).toContain('lines 1 and 2');
  });

  it('replaces one exact occurrence', async () => {
    const result = await call('edit_file', { path: 'src/a.ts', old_string: 'export const v2 = 2;', new_string: 'export const v2 = 22;' });
    expect(result.edited).toBe(true);
    expect(await fs.readFile(path.join(root, 'src/a.ts'), 'utf8')).toContain('v2 = 22;');
  });

  it('refuses workflow files, protected paths and escapes', async () => {
    expect(await callError('write_file', { path: '.github/workflows/ci.yml', content: 'x' })).toContain('protected');
    expect(await callError('edit_file', { path: '.github/workflows/ci.yml', old_string: 'push', new_string: 'x' })).toContain('protected');
    expect(await callError('write_file', { path: 'ci-link/ci.yml', content: 'x' })).toContain('protected');
    expect(await callError('write_file', { path: 'secrets/new.key', content: 'x' })).toContain('protected');
    expect(await callError('write_file', { path: 'escape/evil.txt', content: 'x' })).toContain('symbolic link');
    // A link to something that does not exist yet would create it wherever it points.
    expect(await callError('write_file', { path: 'dangling', content: 'x' })).toContain('symbolic link');
    expect(await callError('write_file', { path: 'dangling-dir/file', content: 'x' })).toContain('symbolic link');
    await expect(fs.access(path.join(outside, 'not-yet'))).rejects.toThrow();
    expect(await callError('write_file', { path: 'git-link/config', content: 'x' })).toContain('.git');
    expect(await callError('write_file', { path: '.git/hooks/pre-commit', content: 'x' })).toContain('.git');
    await expect(fs.access(path.join(outside, 'evil.txt'))).rejects.toThrow();
  });

  it('creates new files with their directories', async () => {
    await call('write_file', { path: 'docs/new/file.md', content: 'hello\n' });
    expect(await fs.readFile(path.join(root, 'docs/new/file.md'), 'utf8')).toBe('hello\n');
  });
});

describe('search and list_files', () => {
  it('finds content with git grep', async () => {
    const { output } = await call('search', { query: 'v999 =', regex: null, path_glob: null });
    expect(output).toContain('src/a.ts:999:');
    expect((await call('search', { query: 'zzz-none', regex: null, path_glob: null })).output).toContain('no matches');
    expect((await call('search', { query: 'v1{2}0 =', regex: true, path_glob: 'src/**' })).output).toContain('src/a.ts:110:');
  });

  it('lists files by substring and glob', async () => {
    expect((await call('list_files', { pattern: 'dup' })).output).toContain('src/dup.ts');
    const globbed = (await call('list_files', { pattern: 'src/**/*.ts' })).output;
    expect(globbed).toContain('src/a.ts');
    expect(globbed).not.toContain('ci.yml');
  });

  it('reads a glob the same way in list_files and search: braces, dot files, case, new files', async () => {
    await fs.mkdir(path.join(root, 'lib/.hidden'), { recursive: true });
    await fs.writeFile(path.join(root, 'lib/one.js'), 'const marker = "glob-probe";\n');
    await fs.writeFile(path.join(root, 'lib/.hidden/two.ts'), 'const marker = "glob-probe";\n');
    await fs.writeFile(path.join(root, 'lib/Three.TS'), 'const marker = "glob-probe";\n');
    await fs.writeFile(path.join(root, 'lib/four.md'), 'glob-probe\n');
    const glob = 'lib/**/*.{js,ts}';
    const listed = (await call('list_files', { pattern: glob })).output.split('\n').slice(1).sort();
    const searched = [...new Set((await call('search', { query: 'glob-probe', regex: null, path_glob: glob })).output.split('\n').slice(1).map((line) => line.split(':')[0]))].sort();
    expect(listed).toEqual(['lib/.hidden/two.ts', 'lib/one.js']);
    expect(searched).toEqual(listed);
    expect((await call('search', { query: 'glob-probe', regex: null, path_glob: 'nothing/**' })).output).toContain('no files match path_glob');
  });
});

describe('run_shell and run_tests', () => {
  it('keeps the head and tail of huge output', async () => {
    const { output } = await call('run_shell', { command: 'seq 1 200000', timeout_seconds: null });
    expect(output).toContain('exit code 0');
    expect(output).toMatch(/\n1\n2\n/);
    expect(output).toContain('200000');
    expect(output).toContain('characters omitted');
    expect(output.length).toBeLessThan(6000);
  });

  it('kills a command and its children at the timeout', async () => {
    const { output } = await call('run_shell', { command: 'sleep 30 & sleep 30; echo never', timeout_seconds: 1 });
    expect(output).toContain('timed out');
    expect(output).not.toContain('never');
  });

  it('runs with a scrubbed environment', async () => {
    process.env.AI_FIX_TEST_SECRET = 'should-not-leak';
    const { output } = await call('run_shell', { command: 'env', timeout_seconds: null });
    delete process.env.AI_FIX_TEST_SECRET;
    expect(output).not.toContain('should-not-leak');
    expect(output).toContain('CI=true');
  });

  it('reports the test verdict', async () => {
    expect((await call('run_tests', {})).testsPassed).toBe(true);
  });
});

describe('apply_patch', () => {
  const read = (file: string) => fs.readFile(path.join(root, file), 'utf8');

  beforeAll(async () => {
    await fs.mkdir(path.join(root, 'pkg'), { recursive: true });
    await fs.writeFile(path.join(root, 'pkg/one.ts'), 'export function one() {\n  return 1;\n}\n');
    await fs.writeFile(path.join(root, 'pkg/two.ts'), 'import { one } from "./one";\nexport const two = one() + 1;\n');
    await fs.writeFile(path.join(root, 'pkg/old.ts'), 'legacy\n');
  });

  it('changes, adds, deletes and renames files in one step', async () => {
    const patch = [
      '*** Begin Patch',
      '*** Update File: pkg/one.ts',
      '@@ export function one() {',
      '-  return 1;',
      '+  return 1 as const;',
      '*** Update File: pkg/two.ts',
      '*** Move to: pkg/second.ts',
      '-import { one } from "./one";',
      '+import { one } from "./one.ts";',
      ' export const two = one() + 1;',
      '*** Add File: pkg/three.ts',
      '+export const three = 3;',
      '*** Delete File: pkg/old.ts',
      '*** End Patch',
    ].join('\n');
    const result = await call('apply_patch', { patch });
    expect(result.edited).toBe(true);
    expect(result.output).toBe('Applied the patch:\nM pkg/one.ts (1 hunk)\nR pkg/two.ts → pkg/second.ts\nA pkg/three.ts\nD pkg/old.ts');
    expect(await read('pkg/one.ts')).toBe('export function one() {\n  return 1 as const;\n}\n');
    expect(await read('pkg/second.ts')).toBe('import { one } from "./one.ts";\nexport const two = one() + 1;\n');
    expect(await read('pkg/three.ts')).toBe('export const three = 3;\n');
    await expect(fs.access(path.join(root, 'pkg/two.ts'))).rejects.toThrow();
    await expect(fs.access(path.join(root, 'pkg/old.ts'))).rejects.toThrow();
  });

  it('applies a unified diff as git prints it', async () => {
    const scratch = await fs.mkdtemp(path.join(os.tmpdir(), 'ai-fix-diff-'));
    execFileSync('git', ['init', '-q'], { cwd: scratch });
    await fs.writeFile(path.join(scratch, 'three.ts'), 'export const three = 3;\n');
    execFileSync('git', ['add', '-A'], { cwd: scratch });
    await fs.writeFile(path.join(scratch, 'three.ts'), '// the number three\nexport const three = 3;\nexport const four = 4;\n');
    const diff = execFileSync('git', ['diff', '--src-prefix=a/pkg/', '--dst-prefix=b/pkg/'], { cwd: scratch, encoding: 'utf8' });
    await fs.rm(scratch, { recursive: true, force: true });
    expect((await call('apply_patch', { patch: diff })).output).toContain('M pkg/three.ts');
    expect(await read('pkg/three.ts')).toBe('// the number three\nexport const three = 3;\nexport const four = 4;\n');
  });

  it('applies nothing when one hunk fails, and says where it stopped matching', async () => {
    const before = await read('pkg/one.ts');
    const patch = [
      '*** Begin Patch',
      '*** Add File: pkg/four.ts',
      '+export const four = 4;',
      '*** Update File: pkg/one.ts',
      ' export function one() {',
      '-  return 2;',
      '+  return 3;',
      '*** End Patch',
    ].join('\n');
    const message = await callError('apply_patch', { patch });
    expect(message).toMatch(/^The patch was not applied \(no file changed\): pkg\/one\.ts, hunk 1 does not match the file\. Its first 1 line\(s\) match the file at line 1, but hunk line 2 " {2}return 2;" differs/);
    expect(await read('pkg/one.ts')).toBe(before);
    await expect(fs.access(path.join(root, 'pkg/four.ts'))).rejects.toThrow();
  });

  it('refuses protected paths, existing files to add and missing files to update', async () => {
    const add = (file: string) => `*** Begin Patch\n*** Add File: ${file}\n+x\n*** End Patch`;
    expect(await callError('apply_patch', { patch: add('.github/workflows/evil.yml') })).toContain('protected');
    expect(await callError('apply_patch', { patch: add('pkg/one.ts') })).toContain('pkg/one.ts already exists; change it with "*** Update File: pkg/one.ts"');
    expect(await callError('apply_patch', { patch: '*** Begin Patch\n*** Update File: pkg/none.ts\n-a\n+b\n*** End Patch' })).toContain('no such file; create it with "*** Add File:"');
    expect(await callError('apply_patch', { patch: 'not a patch' })).toContain('neither accepted format');
  });
});

describe('stale views', () => {
  it('refuses an edit of a file that changed since the model read it, until it reads it again', async () => {
    await fs.writeFile(path.join(root, 'src/stale.ts'), 'let a = 1;\nlet b = 2;\n');
    await call('read_file', { path: 'src/stale.ts', start_line: null, end_line: null });
    await call('run_shell', { command: "sed -i 's/b = 2/b = 3/' src/stale.ts", timeout_seconds: null });
    const message = await callError('edit_file', { path: 'src/stale.ts', old_string: 'let a = 1;', new_string: 'let a = 10;' });
    expect(message).toContain('src/stale.ts changed since you last read it');
    expect(await callError('apply_patch', { patch: '*** Begin Patch\n*** Update File: src/stale.ts\n-let a = 1;\n+let a = 10;\n*** End Patch' })).toContain('changed since you last read it');

    await call('read_file', { path: 'src/stale.ts', start_line: null, end_line: null });
    await call('edit_file', { path: 'src/stale.ts', old_string: 'let a = 1;', new_string: 'let a = 10;' });
    // Its own edits keep the view current.
    await call('apply_patch', { patch: '*** Begin Patch\n*** Update File: src/stale.ts\n-let a = 10;\n+let a = 11;\n*** End Patch' });
    expect(await fs.readFile(path.join(root, 'src/stale.ts'), 'utf8')).toBe('let a = 11;\nlet b = 3;\n');
  });
});

describe('run_shell edit detection', () => {
  it('counts a command as an edit only when it changed a file', async () => {
    expect((await call('run_shell', { command: 'cat src/dup.ts && ls', timeout_seconds: null })).edited).toBe(false);
    expect((await call('run_shell', { command: 'echo more >> src/dup.ts', timeout_seconds: null })).edited).toBe(true);
    expect((await call('run_shell', { command: 'echo new > untracked.txt', timeout_seconds: null })).edited).toBe(true);
    expect((await call('run_shell', { command: 'true', timeout_seconds: null })).edited).toBe(false);
  });
});
