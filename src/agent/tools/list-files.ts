import { objectSchema, ToolInputError, type AgentTool } from './tool.ts';

const MAX_FILES = 300;

export const listFilesTool: AgentTool = {
  name: 'list_files',
  description: 'List the repository\'s files (tracked and new, ignoring .gitignore\'d ones) whose path contains `pattern` (case-insensitive) or matches it as a glob like "src/**/*.ts".',
  parameters: objectSchema({
    pattern: { type: ['string', 'null'], description: 'Substring or glob; null lists everything' },
  }),
  async run(args, context) {
    const pattern = typeof args.pattern === 'string' ? args.pattern.trim() : '';
    const listed = await context.runGit(['ls-files', '--cached', '--others', '--exclude-standard']);
    if (listed.exitCode !== 0) throw new ToolInputError(`list_files failed: ${listed.output.trim().split('\n').slice(-3).join(' / ')}`);
    let files = listed.output.split('\n').filter(Boolean);
    if (pattern) {
      const isGlob = /[*?[]/.test(pattern);
      const matcher = isGlob
        ? new RegExp(`^${pattern.replace(/[.+^${}()|\\]/g, '\\$&').replace(/\*\*\/?/g, '\u0000').replace(/\*/g, '[^/]*').replace(/\?/g, '[^/]').replace(/\u0000/g, '(?:.*/)?')}$`, 'i')
        : null;
      const needle = pattern.toLowerCase();
      files = files.filter((file) => (matcher ? matcher.test(file) : file.toLowerCase().includes(needle)));
    }
    if (files.length === 0) return { output: `no files match ${JSON.stringify(pattern)}` };
    const shown = files.slice(0, MAX_FILES).join('\n');
    const more = files.length > MAX_FILES ? `\n… and ${files.length - MAX_FILES} more; narrow the pattern` : '';
    return { output: `${files.length} files\n${shown}${more}` };
  },
};
