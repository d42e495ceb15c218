import { git, GitError } from '../../workspace/git.ts';
import { objectSchema, stringArg, ToolInputError, type AgentTool } from './tool.ts';

const MAX_MATCHES = 100;

export const searchTool: AgentTool = {
  name: 'search',
  description: 'Search file contents with `git grep` (fast on large repositories). Returns path:line: text.',
  parameters: objectSchema({
    query: { type: 'string', description: 'Text to find; a POSIX extended regular expression when regex is true' },
    regex: { type: ['boolean', 'null'], description: 'Treat query as a regular expression (default false)' },
    path_glob: { type: ['string', 'null'], description: 'Limit to paths matching this glob, e.g. "src/**/*.ts"' },
  }),
  async run(args, context) {
    const query = stringArg(args, 'query');
    if (!query) throw new ToolInputError('`query` is empty');
    const gitArgs = ['grep', '-n', '-I', '--untracked', '--full-name', '--no-color', args.regex === true ? '-E' : '-F', '-e', query];
    if (typeof args.path_glob === 'string' && args.path_glob) gitArgs.push('--', `:(glob)${args.path_glob}`);
    let out: string;
    try {
      out = await git(gitArgs, { cwd: context.root, gitDir: context.gitDir, signal: context.signal });
    } catch (err) {
      // git grep exits 1 when nothing matches.
      if (err instanceof GitError && err.exitCode === 1 && !err.stderr) return { output: `no matches for ${JSON.stringify(query)}` };
      throw new ToolInputError(`search failed: ${(err as Error).message}`);
    }
    const lines = out.split('\n').filter(Boolean);
    const shown = lines.slice(0, MAX_MATCHES).map((line) => (line.length > 300 ? `${line.slice(0, 300)}…` : line));
    const more = lines.length > MAX_MATCHES ? `\n… ${lines.length - MAX_MATCHES} more matches; narrow the query or path_glob` : '';
    return { output: `${lines.length} matches\n${shown.join('\n')}${more}` };
  },
};
