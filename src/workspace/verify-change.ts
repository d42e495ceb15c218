import fs from 'node:fs/promises';
import path from 'node:path';
import { isProtectedPath } from '../security/protected-paths.ts';
import { scanDiff, type SecretFinding } from '../security/secret-scan.ts';
import { git } from './git.ts';
import { hostScratch, type Workspace } from './prepare-workspace.ts';

export interface ChangedFile {
  status: string;
  path: string;
}

export interface VerifiedChange {
  /** The tree to commit: the base with the change applied, less what was left out. */
  tree: string;
  /** Files the tree changes against the base. */
  files: ChangedFile[];
  /** Paths left out, each with why, for the pull request and the progress comment. */
  leftOut: Array<{ path: string; why: LeftOutReason }>;
  /** Credentials in the lines the change adds: nothing may be pushed. */
  secrets: SecretFinding[];
}

export type LeftOutReason = 'protected' | 'nested repository' | 'submodule config' | 'git metadata' | 'link out of the repository';

interface Entry {
  oldMode: string;
  newMode: string;
  newSha: string;
  status: string;
  path: string;
}

type Git = (args: string[], input?: string) => Promise<string>;

const GITLINK = '160000';
const SYMLINK = '120000';
// Names git itself treats as its metadata directory on some file system (case, NTFS short names).
const GIT_DIR_NAME = /^(\.git|git~\d+)[. ]*$/i;

/**
 * The host side of the boundary: the patch that came out of the box is applied to a fresh index
 * of the base commit in the host repository (no work tree: nothing the agent wrote is ever on
 * the host's disk as files, and no attribute, hook or config of its making is read). What a
 * change may not carry is left out: nested repositories and submodule changes, git metadata,
 * links that lead out of the repository, protected paths. Then the added lines are scanned.
 */
export async function verifyChange(
  workspace: Workspace,
  patch: Buffer,
  options: { base?: string; protectedPaths: readonly string[]; knownSecrets: Iterable<string> },
): Promise<VerifiedChange> {
  const base = options.base ?? workspace.baseSha;
  const scratch = await hostScratch(workspace);
  const index = path.join(scratch, 'verify.index');
  const patchFile = path.join(scratch, 'change.patch');
  // An empty work tree: index commands want one, and nothing is ever written to it.
  const emptyTree = path.join(scratch, 'empty');
  await fs.rm(index, { force: true });
  await fs.mkdir(emptyTree, { recursive: true });
  const run: Git = (args, input) =>
    git(['--literal-pathspecs', `--git-dir=${workspace.hostGitDir}`, `--work-tree=${emptyTree}`, '-c', 'core.protectNTFS=true', '-c', 'core.protectHFS=true', ...args], {
      cwd: emptyTree,
      env: { GIT_INDEX_FILE: index },
      input,
    });
  await run(['read-tree', base]);
  if (patch.length > 0) {
    await fs.writeFile(patchFile, patch);
    await run(['apply', '--cached', '--binary', '--whitespace=nowarn', '--unidiff-zero', patchFile]);
  }
  const leftOut: VerifiedChange['leftOut'] = [];
  for (const entry of await changedEntries(run, base)) {
    const why = await refusal(run, entry, options.protectedPaths);
    if (!why) continue;
    leftOut.push({ path: entry.path, why });
    await restore(run, base, entry.path);
  }
  const tree = (await run(['write-tree'])).trim();
  const files = (await changedEntries(run, base)).map(({ status, path }) => ({ status, path }));
  const diff = await run(['-c', 'core.quotePath=false', 'diff-index', '--cached', '-p', '-U0', '--no-color', '--no-ext-diff', '--no-textconv', '--no-renames', base]);
  return { tree, files, leftOut, secrets: await scanDiff(diff, options.knownSecrets) };
}

async function changedEntries(run: Git, base: string): Promise<Entry[]> {
  const out = (await run(['diff-index', '--cached', '--raw', '-z', '--no-renames', base])).split('\0');
  const entries: Entry[] = [];
  for (let i = 0; i + 1 < out.length; i += 2) {
    const [oldMode = '', newMode = '', , newSha = '', status = ''] = (out[i] ?? '').replace(/^:/, '').split(' ');
    entries.push({ oldMode, newMode, newSha, status, path: out[i + 1] ?? '' });
  }
  return entries;
}

async function refusal(run: Git, entry: Entry, protectedPaths: readonly string[]): Promise<LeftOutReason | null> {
  if (entry.status === 'D') return isProtectedPath(entry.path, protectedPaths) ? 'protected' : null;
  if (entry.newMode === GITLINK || entry.oldMode === GITLINK) return 'nested repository';
  const parts = entry.path.split('/');
  if (parts.some((part) => GIT_DIR_NAME.test(part))) return 'git metadata';
  if (parts.at(-1)?.toLowerCase() === '.gitmodules') return 'submodule config';
  if (isProtectedPath(entry.path, protectedPaths)) return 'protected';
  if (entry.newMode === SYMLINK) {
    const target = await run(['cat-file', 'blob', entry.newSha]);
    const resolved = path.posix.normalize(path.posix.join(path.posix.dirname(entry.path), target));
    if (path.posix.isAbsolute(target) || resolved === '..' || resolved.startsWith('../')) return 'link out of the repository';
    if (isProtectedPath(resolved, protectedPaths)) return 'protected';
  }
  return null;
}

/** Puts `file` (and anything under it) back as the base has it, or takes it out if the base has none. */
async function restore(run: Git, base: string, file: string): Promise<void> {
  await run(['rm', '--cached', '-r', '-q', '--ignore-unmatch', '--', file]);
  const original = await run(['ls-tree', '-r', '-z', '--full-tree', base, '--', file]);
  if (original) await run(['update-index', '-z', '--index-info'], original);
}
