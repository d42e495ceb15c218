import { execFileSync } from 'node:child_process';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { prepareWorkspace, type Workspace } from '../../src/workspace/prepare-workspace.ts';
import { evictMirrors, type MirrorCache } from '../../src/workspace/mirror-cache.ts';
import { startGitHubSim, type GitHubSim, type SimRepo } from '../support/github-sim.ts';

function gitIn(cwd: string, args: string[], env: Record<string, string> = {}): string {
  return execFileSync('git', args, { cwd, encoding: 'utf8', env: { ...process.env, ...env } }).trim();
}

// Commits straight into the simulator's bare repository, as another person's push would.
function commitUpstream(repo: SimRepo, file: string, content: string): string {
  const env = { GIT_AUTHOR_NAME: 'a', GIT_AUTHOR_EMAIL: 'a@example.invalid', GIT_COMMITTER_NAME: 'a', GIT_COMMITTER_EMAIL: 'a@example.invalid' };
  const blob = execFileSync('git', ['hash-object', '-w', '--stdin'], { cwd: repo.bareDir, input: content, encoding: 'utf8' }).trim();
  const parent = gitIn(repo.bareDir, ['rev-parse', 'main']);
  const tree = execFileSync('git', ['mktree'], { cwd: repo.bareDir, input: `${gitIn(repo.bareDir, ['ls-tree', 'main'])}\n100644 blob ${blob}\t${file}\n`, encoding: 'utf8' }).trim();
  const commit = gitIn(repo.bareDir, ['commit-tree', tree, '-p', parent, '-m', `add ${file}`], env);
  gitIn(repo.bareDir, ['update-ref', 'refs/heads/main', commit]);
  return commit;
}

// A commit upstream whose tree is `entries` (mode, content; 120000 is a link to the content).
function commitTreeUpstream(repo: SimRepo, entries: Record<string, { mode: string; content: string }>): string {
  const env = { GIT_AUTHOR_NAME: 'a', GIT_AUTHOR_EMAIL: 'a@example.invalid', GIT_COMMITTER_NAME: 'a', GIT_COMMITTER_EMAIL: 'a@example.invalid' };
  const input = Object.entries(entries)
    .map(([name, { mode, content }]) => `${mode} blob ${execFileSync('git', ['hash-object', '-w', '--stdin'], { cwd: repo.bareDir, input: content, encoding: 'utf8' }).trim()}\t${name}\n`)
    .join('');
  const tree = execFileSync('git', ['mktree'], { cwd: repo.bareDir, input, encoding: 'utf8' }).trim();
  const commit = gitIn(repo.bareDir, ['commit-tree', tree, '-p', gitIn(repo.bareDir, ['rev-parse', 'main']), '-m', 'tree'], env);
  gitIn(repo.bareDir, ['update-ref', 'refs/heads/main', commit]);
  return commit;
}

// Git commands that would fail rather than reach any remote (a partial clone fetching what it lacks).
const OFFLINE = ['-c', 'protocol.allow=never'];

describe('workspaces prepared through the per-repository mirror cache', () => {
  let github: GitHubSim;
  let root: string;
  let cache: MirrorCache;
  let repo: SimRepo;
  let token: string;
  let jobs = 0;

  const prepare = (target: SimRepo, mirrors: MirrorCache = cache) =>
    prepareWorkspace({
      jobDir: path.join(root, 'jobs', String(++jobs)),
      cloneUrl: target.cloneUrl,
      defaultBranch: 'main',
      branch: 'ai-fix/issue-1',
      token,
      committer: { name: 'ai-fix[bot]', email: 'ai-fix@example.invalid' },
      mirrors,
    });
  const mirrorDirs = async () => (await fs.readdir(cache.root)).filter((name) => name.endsWith('.git'));

  beforeAll(async () => {
    github = await startGitHubSim();
    repo = await github.createRepo({ owner: 'acme', name: 'mirrored', files: { 'a.txt': 'one\n' } });
    root = await fs.mkdtemp(path.join(os.tmpdir(), 'ai-fix-mirror-'));
    cache = { root: path.join(root, 'mirrors'), maxBytes: 1 << 30 };
    token = github.mintToken();
  });

  afterAll(async () => {
    await github?.close();
    if (root) await fs.rm(root, { recursive: true, force: true });
  });

  it('makes a host repository the box never sees, and a box checkout of the task branch whose objects come from it', async () => {
    const workspace = await prepare(repo);
    const { box } = workspace;
    expect(await fs.readFile(path.join(box.dir, 'a.txt'), 'utf8')).toBe('one\n');
    expect(path.relative(box.dir, box.gitDir).startsWith('..')).toBe(true);
    expect((await fs.stat(path.join(box.dir, '.git'))).isFile()).toBe(true);
    expect(gitIn(box.dir, ['--git-dir', box.gitDir, 'remote', 'get-url', 'origin'])).toBe(repo.cloneUrl);
    expect(gitIn(box.dir, ['--git-dir', box.gitDir, 'branch', '--show-current'])).toBe('ai-fix/issue-1');
    expect((await fs.readFile(path.join(box.gitDir, 'objects', 'info', 'alternates'), 'utf8')).trim()).toBe(workspace.objects);
    // The host repository is bare (no work tree to be tricked through) and inside the job, outside the box.
    expect(gitIn(workspace.hostGitDir, ['rev-parse', '--is-bare-repository'])).toBe('true');
    expect(path.relative(path.dirname(box.dir), workspace.hostGitDir).startsWith('..')).toBe(true);
    expect(gitIn(workspace.hostGitDir, ['remote', 'get-url', 'origin'])).toBe(repo.cloneUrl);
    expect(workspace.baseSha).toBe(gitIn(repo.bareDir, ['rev-parse', 'main']));
    expect(await mirrorDirs()).toHaveLength(1);
  });

  it('fetches what changed upstream into the mirror before the next checkout', async () => {
    const head = commitUpstream(repo, 'b.txt', 'two\n');
    const workspace = await prepare(repo);
    expect(workspace.baseSha).toBe(head);
    expect(await fs.readFile(path.join(workspace.box.dir, 'b.txt'), 'utf8')).toBe('two\n');
  });

  it('keeps the token out of every file it writes', async () => {
    const workspace = await prepare(repo);
    for (const dir of [cache.root, workspace.jobDir]) {
      const entries = await fs.readdir(dir, { recursive: true, withFileTypes: true });
      for (const entry of entries.filter((e) => e.isFile())) {
        expect(await fs.readFile(path.join(entry.parentPath, entry.name), 'latin1')).not.toContain(token);
      }
    }
  });

  it('lets two tasks of the same repository prepare at once', async () => {
    commitUpstream(repo, 'c.txt', 'three\n');
    const both: Workspace[] = await Promise.all([prepare(repo), prepare(repo)]);
    for (const workspace of both) expect(await fs.readFile(path.join(workspace.box.dir, 'c.txt'), 'utf8')).toBe('three\n');
    expect(await fs.readdir(cache.root)).toEqual(await mirrorDirs());
  });

  it('takes over a lock whose holder stopped refreshing it (a crash or a kill -9)', async () => {
    const [mirror] = await mirrorDirs();
    const lock = path.join(cache.root, `${mirror}.lock`);
    await fs.writeFile(lock, 'a-holder-that-died\n');
    const past = new Date(Date.now() - 3600_000);
    await fs.utimes(lock, past, past);
    await prepare(repo);
    await expect(fs.stat(lock)).rejects.toThrow();
  });

  it('evicts the least recently used mirror beyond the size cap, never the one just used', async () => {
    const other = await github.createRepo({ owner: 'acme', name: 'other', files: { 'x.txt': 'x\n' } });
    const small = { ...cache, maxBytes: 1 };
    const before = await mirrorDirs();
    await prepare(other, small);
    const after = await mirrorDirs();
    expect(after).toHaveLength(1);
    expect(before).not.toContain(after[0]);
    // The evicted repository still prepares: its mirror is simply built again.
    expect((await prepare(repo, small)).baseSha).toBe(gitIn(repo.bareDir, ['rev-parse', 'main']));
  });
  it('keeps a task working when its mirror is evicted: the host repository and the box need neither the mirror nor the network', async () => {
    const target = await github.createRepo({ owner: 'acme', name: 'evicted', files: { 'a.txt': 'one\n', 'lib/b.txt': 'two\n' } });
    commitUpstream(target, 'c.txt', 'three\n');
    const own: MirrorCache = { root: path.join(root, 'evicted-mirrors'), maxBytes: 1 << 30 };
    const workspace = await prepare(target, own);
    expect(await evictMirrors({ ...own, maxBytes: 0 })).toHaveLength(1);
    expect((await fs.readdir(own.root)).filter((name) => name.endsWith('.git'))).toEqual([]);
    for (const gitDir of [workspace.hostGitDir, workspace.box.gitDir]) {
      // Every object reachable from every ref is there (nothing lazily fetched: no promisor remote).
      gitIn(root, [...OFFLINE, `--git-dir=${gitDir}`, 'fsck', '--connectivity-only', '--no-dangling']);
      expect(() => gitIn(root, [`--git-dir=${gitDir}`, 'config', '--get', 'extensions.partialClone'])).toThrow();
    }
    // The host applies a patch to a fresh index of the base commit, with no work tree and no network.
    const index = path.join(workspace.jobDir, 'verify.index');
    const patch = 'diff --git a/lib/b.txt b/lib/b.txt\n--- a/lib/b.txt\n+++ b/lib/b.txt\n@@ -1 +1 @@\n-two\n+TWO\n';
    execFileSync('git', [...OFFLINE, `--git-dir=${workspace.hostGitDir}`, 'read-tree', workspace.baseSha], { env: { ...process.env, GIT_INDEX_FILE: index } });
    execFileSync('git', [...OFFLINE, `--git-dir=${workspace.hostGitDir}`, 'apply', '--cached'], { input: patch, env: { ...process.env, GIT_INDEX_FILE: index } });
    const tree = execFileSync('git', [`--git-dir=${workspace.hostGitDir}`, 'write-tree'], { encoding: 'utf8', env: { ...process.env, GIT_INDEX_FILE: index } }).trim();
    expect(gitIn(root, [`--git-dir=${workspace.hostGitDir}`, 'show', `${tree}:lib/b.txt`])).toBe('TWO');
    // The box reads its history (diffs of earlier commits included) from the host's objects.
    expect(gitIn(workspace.box.dir, [...OFFLINE, '--git-dir', workspace.box.gitDir, 'log', '-p', '--format=%s'])).toContain('+three');
  });

  it('builds a new mirror with no remote of its own, gc kept in the foreground, and lets two first tasks share it', async () => {
    const target = await github.createRepo({ owner: 'acme', name: 'fresh', files: { 'a.txt': 'one\n' } });
    const own: MirrorCache = { root: path.join(root, 'fresh-mirrors'), maxBytes: 1 << 30 };
    const both = await Promise.all([prepare(target, own), prepare(target, own)]);
    for (const workspace of both) expect(await fs.readFile(path.join(workspace.box.dir, 'a.txt'), 'utf8')).toBe('one\n');
    const mirrors = (await fs.readdir(own.root)).filter((name) => name.endsWith('.git'));
    expect(mirrors).toHaveLength(1);
    const mirror = path.join(own.root, mirrors[0]!);
    expect(gitIn(root, [`--git-dir=${mirror}`, 'config', '--get', 'gc.autoDetach'])).toBe('false');
    expect(() => gitIn(root, [`--git-dir=${mirror}`, 'config', '--get-regexp', '^remote\\.'])).toThrow();
    expect(gitIn(root, [`--git-dir=${mirror}`, 'rev-parse', 'refs/heads/main'])).toBe(gitIn(target.bareDir, ['rev-parse', 'main']));
  });

  it('writes a checkout of many files (in parallel) exactly as the commit has them: contents, executable bits, links', async () => {
    const target = await github.createRepo({ owner: 'acme', name: 'many', files: { 'README.md': 'x\n' } });
    const entries: Record<string, { mode: string; content: string }> = {};
    for (let i = 0; i < 400; i++) entries[`f${String(i).padStart(3, '0')}.txt`] = { mode: '100644', content: `file ${i}\n`.repeat(i % 7) };
    entries['run.sh'] = { mode: '100755', content: '#!/bin/sh\necho hi\n' };
    entries['link'] = { mode: '120000', content: 'f001.txt' };
    const head = commitTreeUpstream(target, entries);
    const workspace = await prepare(target);
    expect(workspace.baseSha).toBe(head);
    const { dir, gitDir } = workspace.box;
    expect(gitIn(dir, ['--git-dir', gitDir, 'status', '--porcelain'])).toBe('');
    expect(gitIn(dir, ['--git-dir', gitDir, 'branch', '--show-current'])).toBe('ai-fix/issue-1');
    expect(await fs.readFile(path.join(dir, 'f123.txt'), 'utf8')).toBe('file 123\n'.repeat(123 % 7));
    expect((await fs.stat(path.join(dir, 'run.sh'))).mode & 0o111).not.toBe(0);
    expect(await fs.readlink(path.join(dir, 'link'))).toBe('f001.txt');
    expect((await fs.readdir(dir)).filter((name) => name !== '.git')).toHaveLength(402);
  });

  it('asks whether the task branch exists without reading any repository around the job directory', async () => {
    const target = await github.createRepo({ owner: 'acme', name: 'continued', files: { 'a.txt': 'one\n' } });
    const branchHead = commitUpstream(target, 'b.txt', 'two\n');
    gitIn(target.bareDir, ['update-ref', 'refs/heads/ai-fix/issue-1', branchHead]);
    gitIn(target.bareDir, ['update-ref', 'refs/heads/main', `${branchHead}~1`]);
    // The jobs' parent is a repository whose config would send the URL elsewhere.
    const parent = path.join(root, 'nested');
    gitIn(root, ['init', '-q', parent]);
    gitIn(parent, ['config', `url.${github.url}/nowhere/.insteadOf`, `${github.url}/`]);
    const workspace = await prepareWorkspace({
      jobDir: path.join(parent, 'job'),
      cloneUrl: target.cloneUrl,
      defaultBranch: 'main',
      branch: 'ai-fix/issue-1',
      token,
      committer: { name: 'ai-fix[bot]', email: 'ai-fix@example.invalid' },
      mirrors: cache,
    });
    expect(workspace.continued).toBe(true);
    expect(workspace.baseSha).toBe(branchHead);
    expect(await fs.readFile(path.join(workspace.box.dir, 'b.txt'), 'utf8')).toBe('two\n');
  });
});
