import { optionalNumberArg, objectSchema, stringArg, type AgentTool } from './tool.ts';
import type { CommandResult } from '../../sandbox/run-command.ts';

export function describeResult(result: CommandResult): string {
  const status = result.timedOut
    ? 'timed out (killed)'
    : result.aborted
      ? 'cancelled'
      : result.outputExceeded
        ? 'killed for printing too much'
        : `exit code ${result.exitCode ?? 'none'}`;
  return `${status} after ${(result.durationMs / 1000).toFixed(1)}s\n${result.output || '(no output)'}`;
}

export const runShellTool: AgentTool = {
  name: 'run_shell',
  description: 'Run a bash command in the repository root (no network access guaranteed, no secrets in the environment). Long output is cut to its head and tail.',
  parameters: objectSchema({
    command: { type: 'string', description: 'The bash command' },
    timeout_seconds: { type: ['integer', 'null'], description: 'Time limit; null for the default' },
  }),
  async run(args, context) {
    const timeout = optionalNumberArg(args, 'timeout_seconds');
    const command = stringArg(args, 'command');
    // Commands may change files too (formatters, code generators, sed): that counts as an edit.
    // A tree that cannot be taken (the command broke the checkout) counts as an edit.
    const before = await context.workTreeId();
    const result = await context.runShell(command, timeout ? timeout * 1000 : undefined);
    const after = await context.workTreeId();
    const edited = before === null || after === null || after !== before;
    return { output: describeResult(result), edited };
  },
};
