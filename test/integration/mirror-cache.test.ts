import { execFileSync } from 'node:child_process';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { prepareWorkspace, type Workspace } from '../../src/workspace/prepare-workspace.ts';
import type { MirrorCache } from '../../src/workspace/mirror-cache.ts';
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

  it('takes over a lock its dead owner left behind', async () => {
    const [mirror] = await mirrorDirs();
    const lock = path.join(cache.root, `${mirror}.lock`);
    await fs.mkdir(lock);
    await fs.writeFile(path.join(lock, 'owner'), `${os.hostname()} 2147483646\n`);
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
});
