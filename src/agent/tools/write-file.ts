import { objectSchema, stringArg, type AgentTool } from './tool.ts';
import { resolveInWorkspace } from './workspace-path.ts';
import { writeWorkspaceFile } from './workspace-write.ts';

export const writeFileTool: AgentTool = {
  name: 'write_file',
  description: 'Create a file, or overwrite one completely, with the given content. Prefer edit_file for changes to existing files.',
  parameters: objectSchema({
    path: { type: 'string', description: 'Path relative to the repository root' },
    content: { type: 'string', description: 'The whole new content' },
  }),
  async run(args, context) {
    const { real: absolute, relative } = await resolveInWorkspace(context.root, stringArg(args, 'path'), {
      write: true,
      protectedPaths: context.protectedPaths,
    });
    const content = stringArg(args, 'content');
    await writeWorkspaceFile(absolute, relative, content, context);
    context.views.record(relative, content);
    return { output: `${relative}: wrote ${content.split('\n').length} lines`, edited: true };
  },
};
