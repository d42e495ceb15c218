import fs from 'node:fs/promises';
import path from 'node:path';
import { NotRegularFileError, readRegularFile } from '../../util/regular-file.ts';
import { applyHunks, HunkError } from '../patch/apply-hunks.ts';
import { parsePatch, PatchSyntaxError, type FilePatch } from '../patch/parse-patch.ts';
import { staleViewMessage } from './file-views.ts';
import { objectSchema, stringArg, ToolInputError, type AgentTool, type ToolContext } from './tool.ts';
import { resolveInWorkspace } from './workspace-path.ts';
import { writeWorkspaceFile } from './workspace-write.ts';

interface Pending {
  absolute: string;
  /** null: the file is deleted. */
  content: string | null;
}

const NOT_APPLIED = 'The patch was not applied (no file changed)';

async function readOrNull(absolute: string): Promise<string | null> {
  try {
    return (await readRegularFile(absolute)).toString('utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') return null;
    if (err instanceof NotRegularFileError) throw new ToolInputError(`${NOT_APPLIED}: ${path.basename(absolute)} is not a regular file`);
    throw err;
  }
}

/** Works out every file's new content in memory first, so a patch applies entirely or not at all. */
async function plan(patches: FilePatch[], context: ToolContext): Promise<{ pending: Map<string, Pending>; summary: string[]; notes: string[] }> {
  const pending = new Map<string, Pending>();
  const summary: string[] = [];
  const notes: string[] = [];
  const resolve = async (given: string) => {
    const { real, relative } = await resolveInWorkspace(context.root, given, { write: true, protectedPaths: context.protectedPaths });
    return { absolute: real, relative };
  };
  const current = async (relative: string, absolute: string) => {
    const planned = pending.get(relative);
    if (planned) return { content: planned.content, planned: true };
    return { content: await readOrNull(absolute), planned: false };
  };
  const fail = (message: string): never => {
    throw new ToolInputError(`${NOT_APPLIED}: ${message}`);
  };

  for (const patch of patches) {
    const { absolute, relative } = await resolve(patch.path);
    const existing = await current(relative, absolute);
    if (patch.kind === 'add') {
      if (existing.content !== null) fail(`${relative} already exists; change it with "*** Update File: ${relative}" (or a diff against it)`);
      pending.set(relative, { absolute, content: patch.content });
      summary.push(`A ${relative}`);
      continue;
    }
    if (existing.content === null) fail(`${relative}: no such file${patch.kind === 'update' ? '; create it with "*** Add File:"' : ''}`);
    const content = existing.content!;
    if (!existing.planned && context.views.isStale(relative, content)) fail(staleViewMessage(relative));
    if (patch.kind === 'delete') {
      pending.set(relative, { absolute, content: null });
      summary.push(`D ${relative}`);
      continue;
    }
    let updated = content;
    if (patch.hunks.length) {
      try {
        const applied = applyHunks(content, patch.hunks);
        updated = applied.content;
        if (applied.fuzzy.length) notes.push(`${relative}: hunk ${applied.fuzzy.join(', ')} matched only when whitespace was ignored; check the indentation.`);
      } catch (err) {
        if (err instanceof HunkError) fail(`${relative}, ${err.message}`);
        throw err;
      }
    }
    if (patch.moveTo) {
      const target = await resolve(patch.moveTo);
      if ((await current(target.relative, target.absolute)).content !== null) fail(`cannot move ${relative} to ${target.relative}: it already exists`);
      pending.set(relative, { absolute, content: null });
      pending.set(target.relative, { absolute: target.absolute, content: updated });
      summary.push(`R ${relative} → ${target.relative}`);
    } else {
      pending.set(relative, { absolute, content: updated });
      summary.push(`M ${relative} (${patch.hunks.length} hunk${patch.hunks.length === 1 ? '' : 's'})`);
    }
  }
  return { pending, summary, notes };
}

export const applyPatchTool: AgentTool = {
  name: 'apply_patch',
  description: [
    'Change several files at once, atomically: either every change applies or none does. Best for multi-file changes, refactors and renames.',
    'The patch is a unified diff (as `git diff` prints it; line numbers may be approximate) or this format:',
    '*** Begin Patch',
    '*** Update File: src/a.ts',
    '@@ function total(',
    ' unchanged line (leading space)',
    '-removed line',
    '+added line',
    '*** Add File: src/b.ts',
    '+every line of the new file',
    '*** Delete File: src/c.ts',
    '*** End Patch',
    'In an update, "*** Move to: <path>" right after the header renames the file; "@@ <line>" (optional) names a line above the change, such as its function, to locate it. Include about 3 unchanged lines around each change.',
  ].join('\n'),
  parameters: objectSchema({
    patch: { type: 'string', description: 'The whole patch text' },
  }),
  async run(args, context) {
    let patches: FilePatch[];
    try {
      patches = parsePatch(stringArg(args, 'patch'));
    } catch (err) {
      if (err instanceof PatchSyntaxError) throw new ToolInputError(`${NOT_APPLIED}: ${err.message}`);
      throw err;
    }
    const { pending, summary, notes } = await plan(patches, context);
    for (const [relative, { absolute, content }] of pending) {
      if (content === null) {
        await fs.rm(absolute, { force: true });
        context.views.forget(relative);
      } else {
        await writeWorkspaceFile(absolute, relative, content, context);
        context.views.record(relative, content);
      }
    }
    return { output: [`Applied the patch:`, ...summary, ...notes].join('\n'), edited: true };
  },
};
