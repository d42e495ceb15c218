import { objectSchema, type AgentTool } from './tool.ts';
import { describeResult } from './run-shell.ts';

export const runTestsTool: AgentTool = {
  name: 'run_tests',
  description: 'Run the repository\'s test command and report whether it passes.',
  parameters: objectSchema({}),
  async run(_args, context) {
    if (!context.testCommand) {
      return { output: 'This repository has no known test command; verify your change with run_shell instead.' };
    }
    const result = await context.runShell(context.testCommand);
    const passed = result.exitCode === 0;
    return { output: `${passed ? 'PASSED' : 'FAILED'}: ${context.testCommand}\n${describeResult(result)}`, testsPassed: passed };
  },
};
