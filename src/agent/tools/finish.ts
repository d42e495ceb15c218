import { objectSchema, stringArg, type AgentTool } from './tool.ts';

export const finishTool: AgentTool = {
  name: 'finish',
  description: 'Declare the task done. The tests are run once more; if they fail you will be told and can continue. The summary goes into the pull request.',
  parameters: objectSchema({
    summary: { type: 'string', description: 'What you changed and why, for the reviewers (markdown, a few sentences)' },
  }),
  async run(args) {
    return { output: 'finish requested', finished: { summary: stringArg(args, 'summary') } };
  },
};
