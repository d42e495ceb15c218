import fs from 'node:fs/promises';
import path from 'node:path';
import { objectSchema, stringArg, type AgentTool } from './tool.ts';
import { resolveInWorkspace } from './workspace-path.ts';

export const writeFileTool: AgentTool = {
  name: 'write_file',
  description: 'Create a file, or overwrite one completely, with the given content. Prefer edit_file for changes to existing files.',
  parameters: objectSchema({
    path: { type: 'string', description: 'Path relative to the repository root' },
    content: { type: 'string', description: 'The whole new content' },
  }),
  async run(args, context) {
    const { absolute, relative } = await resolveInWorkspace(context.root, stringArg(args, 'path'), {
      write: true,
      protectedPaths: context.protectedPaths,
    });
    const content = stringArg(args, 'content');
    const firstCreated = await fs.mkdir(path.dirname(absolute), { recursive: true });
    await fs.writeFile(absolute, content);
    context.views.record(relative, content);
    if (context.fileOwner) {
      // The agent's commands (formatters, tests writing snapshots) must be able to change what
      // the tool created, when they run as another user than the worker.
      const owned = [absolute];
      // mkdir reports the first directory it created; those below it are new too.
      for (let dir = path.dirname(absolute); firstCreated && dir.length >= firstCreated.length; dir = path.dirname(dir)) owned.push(dir);
      for (const file of owned) await fs.lchown(file, context.fileOwner.uid, context.fileOwner.gid);
    }
    return { output: `${relative}: wrote ${content.split('\n').length} lines`, edited: true };
  },
};
