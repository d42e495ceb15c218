import { execFileSync } from 'node:child_process';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { restoreHomeCache, saveHomeCache } from '../../src/sandbox/box-cache.ts';
import type { SandboxPolicy } from '../../src/sandbox/sandbox-policy.ts';
import { startSandbox } from '../../src/sandbox/start-sandbox.ts';
import { openTaskBox, type TaskBox } from '../../src/sandbox/task-box.ts';
import { createLogger } from '../../src/util/logger.ts';
import { adoptEntry, cacheEntry, dependencyKey, evictDependencyCaches, usableEntry } from '../../src/workspace/dependency-cache.ts';
import type { Workspace } from '../../src/workspace/prepare-workspace.ts';

const MB = 2 ** 20;

/** A bare repository with one commit holding `files`, as the host repository of a task. */
function hostRepo(dir: string, files: Record<string, string>): Pick<Workspace, 'hostGitDir' | 'baseSha'> {
  const work = path.join(dir, 'work');
  execFileSync('git', ['init', '-q', work]);
  for (const [file, content] of Object.entries(files)) {
    execFileSync('mkdir', ['-p', path.dirname(path.join(work, file))]);
    execFileSync('bash', ['-c', 'cat > "$1"', 'write', path.join(work, file)], { input: content });
  }
  execFileSync('git', ['-C', work, 'add', '-A']);
  execFileSync('git', ['-C', work, '-c', 'user.name=t', '-c', 'user.email=t@example.invalid', 'commit', '-qm', 'c']);
  const hostGitDir = path.join(dir, `host-${Math.random().toString(36).slice(2)}.git`);
  execFileSync('git', ['clone', '-q', '--bare', work, hostGitDir]);
  execFileSync('rm', ['-rf', work]);
  return { hostGitDir, baseSha: execFileSync('git', ['--git-dir', hostGitDir, 'rev-parse', 'HEAD'], { encoding: 'utf8' }).trim() };
}

describe('the dependency cache', () => {
  let root: string;
  let policy: SandboxPolicy;
  const boxes: TaskBox[] = [];

  beforeAll(async () => {
    root = await fs.mkdtemp(path.join(os.tmpdir(), 'ai-fix-depcache-'));
    // The sandbox users pass through to their job directories, as they do under /tmp/ai-fix.
    await fs.chmod(root, 0o711);
    const mode = process.env.AI_FIX_TEST_REQUIRE_BWRAP === '1' ? 'bwrap' : 'none';
    policy = await startSandbox({ requested: mode, limits: { memoryBytes: 2 ** 32, processes: 512, fileSizeBytes: 2 ** 30 }, users: { first: 910_000, count: 64 }, tmpBytes: 64 * MB, workdir: path.join(root, 'work'), log: createLogger({ level: 'silent' }) });
  });

  afterAll(async () => {
    for (const box of boxes) await box.close();
    await fs.rm(root, { recursive: true, force: true });
  });

  async function box(name: string): Promise<TaskBox> {
    const job = path.join(root, 'work', 'jobs', name, 'box');
    const dirs = { workspace: path.join(job, 'repo'), home: path.join(job, 'home'), gitDir: path.join(job, 'git'), readOnly: [] };
    for (const dir of [dirs.workspace, dirs.home, dirs.gitDir]) await fs.mkdir(dir, { recursive: true });
    const opened = await openTaskBox(policy, dirs);
    boxes.push(opened);
    return opened;
  }

  it('keys on the dependency files and the setup, not on the rest of the code', async () => {
    const base = { 'package.json': '{"name":"a"}\n', 'package-lock.json': '{"lockfileVersion":3}\n', 'src/a.js': 'one\n' };
    const key = (files: Record<string, string>, setup = 'npm ci') => dependencyKey(hostRepo(root, files) as Workspace, [setup]);
    const first = await key(base);
    expect(await key({ ...base, 'src/a.js': 'two\n' })).toBe(first);
    expect(await key({ ...base, 'package-lock.json': '{"lockfileVersion":3,"x":1}\n' })).not.toBe(first);
    expect(await key({ ...base, 'node_modules/x/package.json': '{}\n' })).toBe(first);
    expect(await key(base, 'npm install')).not.toBe(first);
  });

  it('carries a package cache from one task\'s box to the next one\'s, packed and unpacked inside the boxes', async () => {
    const cache = { root: path.join(root, 'cache'), maxBytes: 64 * MB };
    const entry = cacheEntry(cache, 42, 'k1');
    const first = await box('first');
    await first.run('mkdir -p "$HOME/.npm/_cacache" && echo downloaded > "$HOME/.npm/_cacache/pkg" && mkdir -p "$HOME/secret-place" && echo no > "$HOME/secret-place/x"', { timeoutMs: 20_000 });
    await fs.mkdir(cache.root, { recursive: true });
    expect(await saveHomeCache(first, `${entry}.partial`, cache.maxBytes)).toBe(true);
    await adoptEntry(cache, `${entry}.partial`, entry);
    expect(await usableEntry(entry)).toBe(entry);

    const second = await box('second');
    expect(await restoreHomeCache(second, entry)).toBe(true);
    const seen = await second.run('cat "$HOME/.npm/_cacache/pkg"; ls "$HOME"', { timeoutMs: 20_000 });
    expect(seen.output).toContain('downloaded');
    // Only the package managers' caches travel, not whatever else the first box left in its home.
    expect(seen.output).not.toContain('secret-place');
  });

  it('refuses an archive over the cap and keeps the cache under its size, least recently used out first', async () => {
    const small = { root: path.join(root, 'small'), maxBytes: 3 * MB };
    const big = await box('big');
    await big.run('mkdir -p "$HOME/.cache" && head -c 5000000 /dev/urandom > "$HOME/.cache/blob"', { timeoutMs: 20_000 });
    await fs.mkdir(small.root, { recursive: true });
    expect(await saveHomeCache(big, path.join(small.root, 'x.partial'), small.maxBytes)).toBe(false);
    await expect(fs.access(path.join(small.root, 'x.partial'))).rejects.toThrow();

    for (const [name, age] of [['old', 3000], ['mid', 2000], ['new', 1000]] as const) {
      const file = cacheEntry(small, 1, name);
      await fs.writeFile(file, Buffer.alloc(MB));
      const when = new Date(Date.now() - age * 1000);
      await fs.utimes(file, when, when);
    }
    await fs.writeFile(cacheEntry(small, 1, 'newest'), Buffer.alloc(MB));
    const evicted = await evictDependencyCaches(small, cacheEntry(small, 1, 'newest'));
    expect(evicted.map((f) => path.basename(f))).toEqual(['1-old.tar']);
  });
});
