import { extractPatch } from '../../src/sandbox/box-git.ts';
import type { SandboxPolicy } from '../../src/sandbox/sandbox-policy.ts';
import { openTaskBox } from '../../src/sandbox/task-box.ts';
import { commitTree } from '../../src/workspace/commit-and-push.ts';
import type { Workspace } from '../../src/workspace/prepare-workspace.ts';
import { verifyChange, type VerifiedChange } from '../../src/workspace/verify-change.ts';

const UNISOLATED: SandboxPolicy = { mode: 'none', limits: { memoryBytes: 2 ** 32, processes: 4096, fileSizeBytes: 2 ** 30 }, hidden: [], tmpBytes: 2 ** 28, exposed: [], env: {}, toolchains: {}, networkAllow: [] };

/**
 * What the worker does with a finished box: the change out as a patch, verified on the host,
 * committed on the task branch (the box unisolated: these tests are about the host's side).
 */
export async function sealAndCommit(
  workspace: Workspace,
  message: string,
  options: { protectedPaths?: string[]; knownSecrets?: string[]; policy?: SandboxPolicy } = {},
): Promise<{ sha: string | null; change: VerifiedChange }> {
  const box = await openTaskBox(options.policy ?? UNISOLATED, { workspace: workspace.box.dir, home: workspace.box.home, gitDir: workspace.box.gitDir, readOnly: [workspace.objects] });
  try {
    const { patch } = await extractPatch(box, [workspace.objects], workspace.baseSha, { maxBytes: 2 ** 26 });
    const change = await verifyChange(workspace, patch, { protectedPaths: options.protectedPaths ?? ['.github/workflows/**'], knownSecrets: options.knownSecrets ?? [] });
    return { sha: await commitTree(workspace, change.tree, message), change };
  } finally {
    await box.close();
  }
}
