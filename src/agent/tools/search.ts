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
    const found = await context.runGit(gitArgs);
    // git grep exits 1 when nothing matches.
    if (found.exitCode === 1 && !found.output.trim()) return { output: `no matches for ${JSON.stringify(query)}` };
    if (found.exitCode !== 0) throw new ToolInputError(`search failed: ${found.output.trim().split('\n').slice(-3).join(' / ') || `exit code ${found.exitCode}`}`);
    const lines = found.output.split('\n').filter(Boolean);
    const shown = lines.slice(0, MAX_MATCHES).map((line) => (line.length > 300 ? `${line.slice(0, 300)}…` : line));
    const more = lines.length > MAX_MATCHES ? `\n… ${lines.length - MAX_MATCHES} more matches; narrow the query or path_glob` : '';
    return { output: `${lines.length} matches\n${shown.join('\n')}${more}` };
  },
};
