// A large synthetic repository made fast with `git fast-import` (no working tree, no hooks), and
// kept under the temp directory so later runs reuse it.
import { spawn } from 'node:child_process';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';

export interface LargeRepoShape {
  files: number;
  commits: number;
  /** Files each commit after the first rewrites. */
  filesPerCommit: number;
}

function fileBody(file: number, version: number): string {
  const lines = [`// module ${file}, revision ${version}`, `export function value${file}(input: number): number {`];
  for (let i = 0; i < 20; i++) lines.push(`  input = (input * ${(file % 97) + i + 1} + ${version}) % 1000003; // step ${i}`);
  lines.push('  return input;', '}', '');
  return lines.join('\n');
}

const filePath = (file: number) => `src/pkg${Math.floor(file / 500)}/dir${Math.floor(file / 50) % 10}/module${file}.ts`;

function* stream(shape: LargeRepoShape): Generator<string> {
  const at = 1_700_000_000;
  for (let c = 0; c < shape.commits; c++) {
    const message = c === 0 ? 'Initial import' : `Change ${c}`;
    let out = `commit refs/heads/main\nmark :${c + 1}\ncommitter Bench <bench@example.invalid> ${at + c * 60} +0000\ndata ${Buffer.byteLength(message)}\n${message}\n`;
    if (c > 0) out += `from :${c}\n`;
    const touched = c === 0 ? Array.from({ length: shape.files }, (_, i) => i) : Array.from({ length: shape.filesPerCommit }, (_, i) => (c * 7919 + i * 104729) % shape.files);
    for (const file of touched) {
      const body = fileBody(file, c);
      out += `M 100644 inline ${filePath(file)}\ndata ${Buffer.byteLength(body)}\n${body}\n`;
    }
    yield out;
  }
}

function run(command: string, args: string[], cwd: string, input?: Iterable<string>): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { cwd, stdio: [input ? 'pipe' : 'ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr?.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.on('error', reject);
    child.on('exit', (code) => (code === 0 ? resolve() : reject(new Error(`${command} ${args.join(' ')} failed: ${stderr}`))));
    if (input && child.stdin) {
      const stdin = child.stdin;
      const chunks = input[Symbol.iterator]();
      const pump = () => {
        for (let next = chunks.next(); !next.done; next = chunks.next()) if (!stdin.write(next.value)) return void stdin.once('drain', pump);
        stdin.end();
      };
      pump();
    }
  });
}

/** A bare repository of `shape`, built once per shape and reused from the temp directory. */
export async function largeRepo(shape: LargeRepoShape): Promise<string> {
  const dir = path.join(os.tmpdir(), `ai-fix-bench-repo-${shape.files}f-${shape.commits}c-${shape.filesPerCommit}`);
  if (await fs.stat(path.join(dir, 'ready')).catch(() => null)) return dir;
  await fs.rm(dir, { recursive: true, force: true });
  await run('git', ['init', '-q', '--bare', '-b', 'main', dir], os.tmpdir());
  await run('git', ['fast-import', '--quiet'], dir, stream(shape));
  // One pack with deltas, as a real server's repository would hold.
  await run('git', ['repack', '-a', '-d', '-q'], dir);
  await fs.writeFile(path.join(dir, 'ready'), '');
  return dir;
}
