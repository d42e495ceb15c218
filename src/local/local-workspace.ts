import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { ConfigError } from '../util/errors.ts';
import { git } from '../workspace/git.ts';
import { checkoutForBox, hostGit, type Workspace } from '../workspace/prepare-workspace.ts';

const COMMITTER = { name: 'ai-fix', email: 'ai-fix@localhost' };

/**
 * The worker's layout for `ai-fix run`, in a temp directory: a bare repository of the user's HEAD
 * (the host side) and the box's checkout of it on a new branch. The agent never touches the
 * user's working tree, its uncommitted changes or its `.git`.
 */
export async function createLocalWorkspace(repoPath: string, now = new Date()): Promise<{ workspace: Workspace; repo: string }> {
  let repo: string;
  try {
    repo = (await git(['rev-parse', '--show-toplevel'], { cwd: path.resolve(repoPath) })).trim();
  } catch {
    throw new ConfigError(`run: ${repoPath} is not a git checkout`);
  }
  const branch = `ai-fix/local-${now.toISOString().replace(/[-:]/g, '').replace(/\..*$/, '')}`;
  const jobDir = await fs.realpath(await fs.mkdtemp(path.join(os.tmpdir(), 'ai-fix-local-')));
  const hostGitDir = path.join(jobDir, 'host.git');
  const box = { dir: path.join(jobDir, 'box', 'repo'), gitDir: path.join(jobDir, 'box', 'git'), home: path.join(jobDir, 'box', 'home') };
  await fs.mkdir(box.home, { recursive: true });
  await git(['init', '-q', '--bare', hostGitDir]);
  await hostGit({ hostGitDir }, ['fetch', '--quiet', '--no-tags', repo, `HEAD:refs/heads/${branch}`]);
  const baseSha = (await hostGit({ hostGitDir }, ['rev-parse', `refs/heads/${branch}`])).trim();
  await checkoutForBox({ hostGitDir, box, branch, startSha: baseSha, cloneUrl: repo, committer: COMMITTER });
  return { workspace: { jobDir, hostGitDir, objects: path.join(hostGitDir, 'objects'), box, branch, baseSha, continued: false, committer: COMMITTER }, repo };
}

/** Brings the committed branch into the user's repository (its working tree stays as it is). */
export async function deliverLocalBranch(workspace: Workspace, repo: string): Promise<void> {
  await git(['fetch', '--quiet', '--no-tags', workspace.hostGitDir, `refs/heads/${workspace.branch}:refs/heads/${workspace.branch}`], { cwd: repo });
}

export async function removeLocalWorkspace(workspace: Workspace): Promise<void> {
  await fs.rm(workspace.jobDir, { recursive: true, force: true });
}
