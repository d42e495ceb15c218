import { execFile, execFileSync } from 'node:child_process';
import { promisify } from 'node:util';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { protectedPathGlobs } from '../../src/security/protected-paths.ts';
import { pushBranch, PushRefusedError } from '../../src/workspace/commit-and-push.ts';
import { prepareWorkspace, type Workspace } from '../../src/workspace/prepare-workspace.ts';
import { gitAuthEnv, startGitHubSim, type GitHubSim } from '../support/github-sim.ts';
import { sealAndCommit } from '../support/seal-workspace.ts';

// The simulator answers from this process: anything that talks to it must not block the loop.
const execFileAsync = promisify(execFile);

const files = {
  'README.md': '# app\n',
  'src/app.js': 'module.exports = 1;\n',
  '.github/workflows/ci.yml': 'on: push\njobs: {}\n',
  'deploy/prod.yaml': 'replicas: 3\n',
};

describe('push policy and the final review of the diff', () => {
  let github: GitHubSim;
  let root: string;
  let n = 0;
  const bareDirs = new Map<string, string>();

  beforeAll(async () => {
    github = await startGitHubSim();
    root = await fs.mkdtemp(path.join(os.tmpdir(), 'ai-fix-push-'));
  });

  afterAll(async () => {
    await github?.close();
    if (root) await fs.rm(root, { recursive: true, force: true });
  });

  async function workspaceFor(name: string, branch = 'ai-fix/issue-1'): Promise<{ workspace: Workspace; token: string; url: string }> {
    if (!bareDirs.has(name)) bareDirs.set(name, (await github.createRepo({ owner: 'acme', name, files })).bareDir);
    const token = github.mintToken();
    const url = `${github.url}/acme/${name}.git`;
    const workspace = await prepareWorkspace({
      jobDir: path.join(root, `job-${++n}`),
      cloneUrl: url,
      defaultBranch: 'main',
      branch,
      token,
      committer: { name: 'ai-fix[bot]', email: 'ai-fix@example.invalid' },
    });
    return { workspace, token, url };
  }

  const sh = (workspace: Workspace, script: string) =>
    execFileSync('bash', ['-c', script], { cwd: workspace.box.dir, env: { ...process.env, GIT_DIR: workspace.box.gitDir, GIT_WORK_TREE: workspace.box.dir, GIT_AUTHOR_NAME: 'agent', GIT_AUTHOR_EMAIL: 'a@x', GIT_COMMITTER_NAME: 'agent', GIT_COMMITTER_EMAIL: 'a@x' } });

  async function clonedBranch(name: string, branch: string): Promise<string> {
    const dir = await fs.mkdtemp(path.join(root, 'check-'));
    await github.cloneWithToken('acme', name, dir, branch);
    return dir;
  }

  it('undoes what the agent did to workflows and protected paths through the shell, and pushes the rest', async () => {
    const { workspace, token, url } = await workspaceFor('protected');
    // What run_shell can do: edit, add, delete, replace a directory with a link, commit itself.
    sh(workspace, [
      'echo "  steal: { run: env }" >> .github/workflows/ci.yml',
      'printf "on: push\\n" > .github/workflows/new.yml',
      'rm deploy/prod.yaml',
      'echo "module.exports = 2;" > src/app.js',
      'git add -A && git commit -qm "agent commit"',
      'mkdir -p evil && printf "on: push\\n" > evil/ci.yml && mv deploy deploy.old 2>/dev/null; ln -s evil deploy',
    ].join(' && '));

    const { change } = await sealAndCommit(workspace, 'fix', { protectedPaths: protectedPathGlobs(['deploy/**']) });
    expect(change.leftOut.map((l) => l.path).sort()).toEqual(['.github/workflows/ci.yml', '.github/workflows/new.yml', 'deploy', 'deploy/prod.yaml'].sort());
    expect(change.leftOut.every((l) => l.why === 'protected')).toBe(true);
    expect(change.secrets).toEqual([]);
    await pushBranch(workspace, url, token);

    const check = await clonedBranch('protected', 'ai-fix/issue-1');
    expect(await fs.readFile(path.join(check, '.github/workflows/ci.yml'), 'utf8')).toBe(files['.github/workflows/ci.yml']);
    await expect(fs.access(path.join(check, '.github/workflows/new.yml'))).rejects.toThrow();
    expect(await fs.readFile(path.join(check, 'deploy/prod.yaml'), 'utf8')).toBe(files['deploy/prod.yaml']);
    expect((await fs.lstat(path.join(check, 'deploy'))).isDirectory()).toBe(true);
    expect(await fs.readFile(path.join(check, 'src/app.js'), 'utf8')).toBe('module.exports = 2;\n');
    // One commit by ai-fix on top of main: the agent's own commit is folded in.
    const log = execFileSync('git', ['log', '--format=%an %s', 'origin/main..HEAD'], { cwd: check, encoding: 'utf8' });
    expect(log.trim()).toBe('ai-fix[bot] fix');
  });

  it('finds credentials the agent added, by file and line', async () => {
    const { workspace } = await workspaceFor('leaky');
    const token = `ghp_${'k3Y9'.repeat(9)}`;
    sh(workspace, `printf 'line one\\nconst t = "${token}";\\n' > src/new.js && printf '# app\\nAPI_KEY=aZ3kP9xQ2mW7vB4nR8tY1cL6hJ5fD0gS\\n' > README.md`);
    const { change } = await sealAndCommit(workspace, 'leak', { protectedPaths: protectedPathGlobs([]) });
    expect(change.secrets).toEqual([
      { file: 'README.md', line: 2, kind: expect.stringContaining('API_KEY') },
      { file: 'src/new.js', line: 2, kind: 'GitHub Token' },
    ]);
  });

  it('refuses to push over commits someone else pushed to the branch meanwhile, and pushes no tags', async () => {
    const first = await workspaceFor('moved');
    await fs.writeFile(path.join(first.workspace.box.dir, 'src/app.js'), 'module.exports = 3;\n');
    await sealAndCommit(first.workspace, 'first run');
    execFileSync('git', ['tag', 'v9.9.9', `refs/heads/${first.workspace.branch}`], { env: { ...process.env, GIT_DIR: first.workspace.hostGitDir } });
    await pushBranch(first.workspace, first.url, first.token);
    expect(execFileSync('git', ['tag', '--list'], { cwd: bareDirs.get('moved'), encoding: 'utf8' }).trim()).toBe('');

    // A second run continues the branch; meanwhile a human pushes to it.
    const second = await workspaceFor('moved');
    expect(second.workspace.continued).toBe(true);
    const human = await clonedBranch('moved', 'ai-fix/issue-1');
    await execFileAsync('bash', ['-c', 'echo human > human.txt && git add -A && git -c user.name=h -c user.email=h@x commit -qm human && git push -q origin HEAD'], {
      cwd: human,
      env: { ...process.env, ...gitAuthEnv(github.mintToken()) },
    });
    const humanSha = await github.branchSha('acme', 'moved', 'ai-fix/issue-1');

    await fs.writeFile(path.join(second.workspace.box.dir, 'src/app.js'), 'module.exports = 4;\n');
    await sealAndCommit(second.workspace, 'second run');
    const refused = pushBranch(second.workspace, second.url, second.token);
    await expect(refused).rejects.toThrow(PushRefusedError);
    await expect(refused).rejects.toThrow(/changed on GitHub while ai-fix worked/);
    expect(await github.branchSha('acme', 'moved', 'ai-fix/issue-1')).toBe(humanSha);
  });
});
