import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from '@jest/globals';
import { detectTestCommand } from '../../src/workspace/detect-test-command.ts';

const dirs: string[] = [];
async function repoWith(files: Record<string, string>): Promise<string> {
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'ai-fix-detect-'));
  dirs.push(dir);
  for (const [name, content] of Object.entries(files)) await fs.writeFile(path.join(dir, name), content);
  return dir;
}

afterEach(async () => {
  await Promise.all(dirs.splice(0).map((dir) => fs.rm(dir, { recursive: true, force: true })));
});

describe('test command detection', () => {
  it('finds the usual test commands', async () => {
    expect(await detectTestCommand(await repoWith({ 'package.json': '{"scripts":{"test":"jest"}}' }))).toBe('npm test');
    expect(await detectTestCommand(await repoWith({ 'pyproject.toml': '' }))).toBe('python -m pytest -q');
    expect(await detectTestCommand(await repoWith({ 'go.mod': 'module x' }))).toBe('go test ./...');
    expect(await detectTestCommand(await repoWith({ 'Cargo.toml': '' }))).toBe('cargo test');
    expect(await detectTestCommand(await repoWith({ Makefile: 'build:\n\ttrue\ntest:\n\ttrue\n' }))).toBe('make test');
  });

  it('ignores npm init\'s placeholder and says when there is none', async () => {
    expect(await detectTestCommand(await repoWith({ 'package.json': '{"scripts":{"test":"echo \\"Error: no test specified\\" && exit 1"}}' }))).toBeNull();
    expect(await detectTestCommand(await repoWith({ 'README.md': 'hi' }))).toBeNull();
  });
});
