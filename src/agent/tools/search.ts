import { globMatcher } from '../../util/glob.ts';
import { repositoryFiles } from './list-files.ts';
import { objectSchema, stringArg, ToolInputError, type AgentTool, type ToolContext } from './tool.ts';

const MAX_MATCHES = 100;
// Paths go to git grep as arguments: a few batches rather than one command line past the limit.
const MAX_PATHSPEC_BYTES = 64 * 1024;

export const searchTool: AgentTool = {
  name: 'search',
  description: 'Search file contents with `git grep` (fast on large repositories). Returns path:line: text.',
  parameters: objectSchema({
    query: { type: 'string', description: 'Text to find; a POSIX extended regular expression when regex is true' },
    regex: { type: ['boolean', 'null'], description: 'Treat query as a regular expression (default false)' },
    path_glob: { type: ['string', 'null'], description: 'Limit to paths matching this glob from the repository root, as list_files reads it, e.g. "src/**/*.ts"' },
  }),
  async run(args, context) {
    const query = stringArg(args, 'query');
    if (!query) throw new ToolInputError('`query` is empty');
    const grep = ['grep', '-n', '-I', '--untracked', '--full-name', '--no-color', args.regex === true ? '-E' : '-F', '-e', query];
    const glob = typeof args.path_glob === 'string' ? args.path_glob.trim() : '';
    let lines: string[];
    if (glob) {
      // The files are chosen with the product's one glob dialect, then named to git literally,
      // so a pattern means the same files here as in list_files and protected_paths.
      const files = (await repositoryFiles(context, 'search')).filter(globMatcher(glob));
      if (files.length === 0) return { output: `no files match path_glob ${JSON.stringify(glob)}` };
      lines = [];
      for (const batch of pathspecBatches(files)) lines.push(...(await grepLines(context, [...grep, '--', ...batch])));
    } else {
      lines = await grepLines(context, grep);
    }
    if (lines.length === 0) return { output: `no matches for ${JSON.stringify(query)}` };
    const shown = lines.slice(0, MAX_MATCHES).map((line) => (line.length > 300 ? `${line.slice(0, 300)}…` : line));
    const more = lines.length > MAX_MATCHES ? `\n… ${lines.length - MAX_MATCHES} more matches; narrow the query or path_glob` : '';
    return { output: `${lines.length} matches\n${shown.join('\n')}${more}` };
  },
};

async function grepLines(context: Pick<ToolContext, 'runGit'>, args: string[]): Promise<string[]> {
  const found = await context.runGit(args);
  // git grep exits 1 when nothing matches.
  if (found.exitCode === 1 && !found.output.trim()) return [];
  if (found.exitCode !== 0) throw new ToolInputError(`search failed: ${found.output.trim().split('\n').slice(-3).join(' / ') || `exit code ${found.exitCode}`}`);
  return found.output.split('\n').filter(Boolean);
}

function* pathspecBatches(files: string[]): Generator<string[]> {
  let batch: string[] = [];
  let bytes = 0;
  for (const file of files) {
    const spec = `:(literal)${file}`;
    if (batch.length > 0 && bytes + spec.length > MAX_PATHSPEC_BYTES) {
      yield batch;
      batch = [];
      bytes = 0;
    }
    batch.push(spec);
    bytes += spec.length + 1;
  }
  if (batch.length > 0) yield batch;
}
