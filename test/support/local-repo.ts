import { execFileSync } from 'node:child_process';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { WorkspaceAccess } from '../../src/sandbox/workspace-access.ts';
import { runCommand } from '../../src/sandbox/run-command.ts';
import { boxAccess } from '../../src/sandbox/box-access.ts';
import { sandboxEnv } from '../../src/sandbox/sandbox-env.ts';
import type { TaskBox } from '../../src/sandbox/task-box.ts';

export interface LocalRepo {
  /** The checkout (a real path). */
  dir: string;
  /** A scratch HOME for the sandboxed commands. */
  home: string;
  workspace(testCommand: string | null, signal?: AbortSignal): WorkspaceAccess;
  git(...args: string[]): string;
  remove(): Promise<void>;
}

/** The commands of a box without isolation, as the developer running the tests. */
export function unisolatedBox(dir: string, home: string): TaskBox {
  return {
    dirs: { workspace: dir, home, gitDir: path.join(dir, '.git'), readOnly: [] },
    mode: 'none',
    run: (command, options) => runCommand(command, { cwd: dir, env: sandboxEnv(home), ...options }),
    allowNetwork: () => {},
    blockedHosts: () => [],
    close: async () => {},
  };
}

/** The agent's ways into an unisolated box on `dir` (a git checkout). */
export function unisolatedAccess(dir: string, home: string, signal: AbortSignal, commandTimeoutMs = 30_000): Pick<WorkspaceAccess, 'runShell' | 'runGit' | 'workTreeId'> {
  const head = execFileSync('git', ['rev-parse', 'HEAD'], { cwd: dir, encoding: 'utf8' }).trim();
  return boxAccess(unisolatedBox(dir, home), { objects: path.join(dir, '.git', 'objects'), baseSha: head, commandTimeoutMs, signal });
}

/** A git repository with one commit on `main`, in a temp directory. */
export async function createLocalRepo(files: Record<string, string>): Promise<LocalRepo> {
  const base = await fs.realpath(await fs.mkdtemp(path.join(os.tmpdir(), 'ai-fix-repo-')));
  const dir = path.join(base, 'repo');
  const home = path.join(base, 'home');
  await fs.mkdir(home, { recursive: true });
  for (const [file, content] of Object.entries(files)) {
    await fs.mkdir(path.dirname(path.join(dir, file)), { recursive: true });
    await fs.writeFile(path.join(dir, file), content);
  }
  const git = (...args: string[]) =>
    execFileSync('git', ['-c', 'user.name=test', '-c', 'user.email=test@example.invalid', ...args], { cwd: dir, encoding: 'utf8' });
  git('init', '-q', '-b', 'main');
  git('add', '-A');
  git('commit', '-q', '-m', 'initial');
  return {
    dir,
    home,
    git,
    workspace: (testCommand, signal = new AbortController().signal) => ({
      root: dir,
      ...unisolatedAccess(dir, home, signal),
      testCommand,
      signal,
      protectedPaths: ['.github/workflows/**'],
    }),
    remove: () => fs.rm(base, { recursive: true, force: true }),
  };
}
