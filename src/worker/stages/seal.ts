import { extractPatch, PatchTooLargeError } from '../../sandbox/box-git.ts';
import { protectedPathGlobs } from '../../security/protected-paths.ts';
import type { SecretFinding } from '../../security/secret-scan.ts';
import { verifyChange, type LeftOutReason, type VerifiedChange } from '../../workspace/verify-change.ts';
import type { PreparedTask } from '../task-context.ts';

// A change larger than this is not a pull request anyone will review.
const MAX_PATCH_BYTES = 64 * 2 ** 20;

export interface SealedChange {
  change: VerifiedChange;
  /** What verification left out, in words for GitHub. */
  notes: string[];
  /** Why nothing may be pushed, for the progress comment; absent when the push may go ahead. */
  refusal?: string;
}

const code = (text: string) => `\`${text.replace(/`/g, "'")}\``;

const WHY: Record<LeftOutReason, string> = {
  protected: 'ai-fix does not change CI workflows or the paths `.github/ai-fix.yml` protects',
  'nested repository': 'nested repositories and submodule pointers are never pushed',
  'submodule config': '`.gitmodules` is never changed by ai-fix',
  'git metadata': 'git metadata is never part of a change',
  'link out of the repository': 'a symbolic link may not lead out of the repository',
};

function where(finding: SecretFinding): string {
  return `${code(finding.file)} line ${finding.line} (${finding.kind})`;
}

/**
 * Stages 4 and 5: the change leaves the box as a patch (the only thing that crosses), and is
 * verified on the host against a fresh index of the base. From here on, nothing the agent
 * started can change what is pushed.
 */
export async function sealChange(task: PreparedTask): Promise<SealedChange> {
  const { workspace } = task;
  let extracted: Awaited<ReturnType<typeof extractPatch>>;
  try {
    extracted = await extractPatch(task.box, [workspace.objects], workspace.baseSha, { maxBytes: MAX_PATCH_BYTES, signal: task.signal });
  } catch (err) {
    if (!(err instanceof PatchTooLargeError)) throw err;
    return { change: { tree: '', files: [], leftOut: [], secrets: [] }, notes: [], refusal: `nothing was pushed, because ${err.message} (build output or dependencies committed by mistake?)` };
  }
  const change = await verifyChange(workspace, extracted.patch, { protectedPaths: protectedPathGlobs(task.config.protected_paths), knownSecrets: task.deps.secrets });
  const byReason = new Map<LeftOutReason, string[]>();
  for (const { path, why } of change.leftOut) byReason.set(why, [...(byReason.get(why) ?? []), path]);
  const notes = [...byReason].map(([why, paths]) => `Left out of the change: ${paths.map(code).join(', ')}; ${WHY[why]}.`);
  if (extracted.unstaged.length) notes.push(`Left out of the change: ${extracted.unstaged.map(code).join(', ')}; git could not stage ${extracted.unstaged.length === 1 ? 'it' : 'them'} (a nested repository with no commit, or an unreadable file).`);
  const blocked = task.box.blockedHosts();
  if (blocked.length) {
    notes.push(`Blocked network access: the sandbox refused ${blocked.map(code).join(', ')} (not on this repository's network allow-list: \`network\` in \`.github/ai-fix.yml\`, within the operator's \`AI_FIX_NETWORK_ALLOW\`).`);
  }
  if (change.leftOut.length) task.log.warn({ leftOut: change.leftOut }, 'change verified with paths left out');
  if (change.secrets.length === 0) return { change, notes };
  const shown = change.secrets.slice(0, 10).map(where).join('; ');
  const more = change.secrets.length > 10 ? ` and ${change.secrets.length - 10} more` : '';
  return {
    change,
    notes,
    refusal: `nothing was pushed, because the changes add what looks like a credential: ${shown}${more}. Credentials belong in the environment or a secret store, not in the repository`,
  };
}
