import { NotRegularFileError, readRegularFile } from '../../util/regular-file.ts';
import { objectSchema, optionalNumberArg, stringArg, ToolInputError, type AgentTool } from './tool.ts';
import { resolveInWorkspace } from './workspace-path.ts';

const MAX_LINES = 400;
const MAX_LINE_CHARS = 400;
const MAX_FILE_BYTES = 32 * 2 ** 20;

export const readFileTool: AgentTool = {
  name: 'read_file',
  description: `Read a text file with line numbers. Reads at most ${MAX_LINES} lines per call; use start_line/end_line for more.`,
  parameters: objectSchema({
    path: { type: 'string', description: 'Path relative to the repository root' },
    start_line: { type: ['integer', 'null'], description: 'First line (1-based); null for 1' },
    end_line: { type: ['integer', 'null'], description: 'Last line (inclusive); null for start_line+399' },
  }),
  async run(args, context) {
    const { real, relative } = await resolveInWorkspace(context.root, stringArg(args, 'path'));
    let content: string;
    try {
      content = (await readRegularFile(real, MAX_FILE_BYTES)).toString('utf8');
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code === 'ENOENT') throw new ToolInputError(`${relative}: no such file; use list_files to find it`);
      if (err instanceof NotRegularFileError) throw new ToolInputError(`${relative}: not a regular file (a directory, FIFO, device or socket) or larger than ${MAX_FILE_BYTES / 2 ** 20} MB; use list_files or run_shell`);
      throw err;
    }
    if (content.includes('\u0000')) throw new ToolInputError(`${relative}: binary file`);
    context.views.record(relative, content);
    const lines = content.split('\n');
    if (lines.at(-1) === '') lines.pop();
    const start = Math.max(1, optionalNumberArg(args, 'start_line') ?? 1);
    const end = Math.min(lines.length, optionalNumberArg(args, 'end_line') ?? start + MAX_LINES - 1, start + MAX_LINES - 1);
    if (lines.length === 0) return { output: `${relative}: empty file` };
    if (start > lines.length) throw new ToolInputError(`${relative} has ${lines.length} lines; start_line ${start} is past the end`);
    const width = String(end).length;
    const body = lines
      .slice(start - 1, end)
      .map((line, i) => {
        const clipped = line.length > MAX_LINE_CHARS ? `${line.slice(0, MAX_LINE_CHARS)}… (line clipped)` : line;
        return `${String(start + i).padStart(width)}| ${clipped}`;
      })
      .join('\n');
    const more = end < lines.length ? `\n(lines ${start}-${end} of ${lines.length}; read on with start_line ${end + 1})` : '';
    return { output: `${relative}:\n${body}${more}` };
  },
};
