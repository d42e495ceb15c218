import { readRegularFile, writeRegularFile } from '../../util/regular-file.ts';
import { staleViewMessage } from './file-views.ts';
import { objectSchema, stringArg, ToolInputError, type AgentTool } from './tool.ts';
import { resolveInWorkspace } from './workspace-path.ts';

function lineOf(text: string, index: number): number {
  return text.slice(0, index).split('\n').length;
}

export const editFileTool: AgentTool = {
  name: 'edit_file',
  description: 'Replace one exact occurrence of old_string with new_string in a file. old_string must match the file byte for byte (whitespace included) and occur exactly once; include surrounding lines to make it unique.',
  parameters: objectSchema({
    path: { type: 'string', description: 'Path relative to the repository root' },
    old_string: { type: 'string', description: 'Exact text to replace' },
    new_string: { type: 'string', description: 'Replacement text' },
  }),
  async run(args, context) {
    const { real, relative } = await resolveInWorkspace(context.root, stringArg(args, 'path'), {
      write: true,
      protectedPaths: context.protectedPaths,
    });
    const oldString = stringArg(args, 'old_string');
    const newString = stringArg(args, 'new_string');
    if (!oldString) throw new ToolInputError('`old_string` is empty; use write_file to create or overwrite a file');
    let content: string;
    try {
      content = (await readRegularFile(real)).toString('utf8');
    } catch {
      throw new ToolInputError(`${relative}: no such regular file; use write_file to create it`);
    }
    if (context.views.isStale(relative, content)) throw new ToolInputError(staleViewMessage(relative));
    const first = content.indexOf(oldString);
    if (first === -1) {
      throw new ToolInputError(`${relative}: old_string not found. Copy it exactly from read_file output (without the line-number prefix), whitespace and indentation included.`);
    }
    const second = content.indexOf(oldString, first + 1);
    if (second !== -1) {
      throw new ToolInputError(`${relative}: old_string occurs more than once (lines ${lineOf(content, first)} and ${lineOf(content, second)}); include more surrounding lines so it is unique`);
    }
    const updated = content.slice(0, first) + newString + content.slice(first + oldString.length);
    await writeRegularFile(real, updated);
    context.views.record(relative, updated);
    return { output: `${relative}: replaced lines ${lineOf(content, first)}-${lineOf(content, first + oldString.length)}`, edited: true };
  },
};
