import { globMatcher, hasWildcards } from '../../util/glob.ts';
import { objectSchema, ToolInputError, type AgentTool, type ToolContext } from './tool.ts';

const MAX_FILES = 300;

export const listFilesTool: AgentTool = {
  name: 'list_files',
  description:
    'List the repository\'s files (tracked and new, ignoring .gitignore\'d ones). `pattern` with a wildcard is a glob from the repository root ("src/**/*.ts", "**/*.{js,ts}"; case counts); without one, a substring of the path (any case).',
  parameters: objectSchema({
    pattern: { type: ['string', 'null'], description: 'Glob or substring; null lists everything' },
  }),
  async run(args, context) {
    const pattern = typeof args.pattern === 'string' ? args.pattern.trim() : '';
    let files = await repositoryFiles(context, 'list_files');
    if (pattern) {
      const needle = pattern.toLowerCase();
      const matches = hasWildcards(pattern) ? globMatcher(pattern) : (file: string) => file.toLowerCase().includes(needle);
      files = files.filter(matches);
    }
    if (files.length === 0) return { output: `no files match ${JSON.stringify(pattern)}` };
    const shown = files.slice(0, MAX_FILES).join('\n');
    const more = files.length > MAX_FILES ? `\n… and ${files.length - MAX_FILES} more; narrow the pattern` : '';
    return { output: `${files.length} files\n${shown}${more}` };
  },
};

/** The files git would see in the checkout (tracked, and new ones not ignored), listed inside the box. */
export async function repositoryFiles(context: Pick<ToolContext, 'runGit'>, tool: string): Promise<string[]> {
  // -z: names exactly as they are (no quoting of unusual characters).
  const listed = await context.runGit(['ls-files', '-z', '--cached', '--others', '--exclude-standard']);
  if (listed.exitCode !== 0) throw new ToolInputError(`${tool} failed: ${listed.output.trim().split('\n').slice(-3).join(' / ')}`);
  return [...new Set(listed.output.split('\0').filter(Boolean))];
}
