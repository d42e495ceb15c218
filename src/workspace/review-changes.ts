import { isProtectedPath } from '../security/protected-paths.ts';
import { scanDiff, type SecretFinding } from '../security/secret-scan.ts';
import { git } from './git.ts';
import type { Workspace } from './prepare-workspace.ts';

export interface ChangeReview {
  /** Protected paths this run changed, restored to how they were before it. */
  reverted: string[];
  /** Credentials in the lines this run adds: nothing may be pushed. */
  secrets: SecretFinding[];
}

/**
 * The last gate before a commit is pushed, on the change itself rather than on the tools
 * (run_shell can change any file): everything since the run's base is staged as one change
 * (commits the agent made itself are folded in), changes to protected paths are undone, and
 * what remains is scanned for credentials.
 */
export async function reviewChanges(
  workspace: Workspace,
  options: { protectedPaths: readonly string[]; knownSecrets: Iterable<string> },
): Promise<ChangeReview> {
  const repo = { cwd: workspace.dir, gitDir: workspace.gitDir };
  await git(['reset', '--soft', '--quiet', workspace.baseSha], repo);
  await git(['add', '--all'], repo);
  const staged = (await git(['diff', '--cached', '--name-status', '--no-renames', '-z', workspace.baseSha], repo)).split('\0');
  const changes: Array<{ status: string; path: string }> = [];
  for (let i = 0; i + 1 < staged.length; i += 2) changes.push({ status: staged[i] ?? '', path: staged[i + 1] ?? '' });
  const violations = changes.filter((change) => isProtectedPath(change.path, options.protectedPaths));
  // Additions go first: a link that replaced `.github` must be gone before the files under it come back.
  for (const { path } of violations.filter((c) => c.status === 'A')) {
    await git(['--literal-pathspecs', 'rm', '-r', '-f', '--quiet', '--', path], repo);
  }
  for (const { path } of violations.filter((c) => c.status !== 'A')) {
    await git(['--literal-pathspecs', 'checkout', workspace.baseSha, '--', path], repo);
  }
  const diff = await git(
    ['-c', 'core.quotePath=false', 'diff', '--cached', '-U0', '--no-color', '--no-ext-diff', '--no-textconv', '--no-renames', workspace.baseSha],
    repo,
  );
  return { reverted: violations.map((v) => v.path), secrets: scanDiff(diff, options.knownSecrets) };
}
