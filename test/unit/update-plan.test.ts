import { describe, expect, it } from '@jest/globals';
import { AgentPlanNotes } from '../../src/agent/plan-notes.ts';
import { ToolInputError, type ToolContext } from '../../src/agent/tools/tool.ts';
import { updatePlanTool } from '../../src/agent/tools/update-plan.ts';

// The tool reads nothing of the workspace.
const context = {} as ToolContext;
const plan = [
  { step: 'Reproduce the bug', status: 'completed' },
  { step: 'Fix add() in calc.js', status: 'in_progress' },
  { step: 'Run the tests', status: 'pending' },
];

describe('update_plan', () => {
  it('takes the whole plan and answers with a short acknowledgement', async () => {
    const result = await updatePlanTool.run({ plan, explanation: null }, context);
    expect(result).toEqual({ output: 'Plan updated: 1 of 3 done; now: Fix add() in calc.js.', plan });
  });

  it('refuses two steps in progress, an empty step and an unknown status, naming the field', async () => {
    const twoInProgress = plan.map((s) => ({ ...s, status: 'in_progress' }));
    await expect(updatePlanTool.run({ plan: twoInProgress, explanation: null }, context)).rejects.toThrow(new ToolInputError('`plan`: at most one step may be in_progress'));
    await expect(updatePlanTool.run({ plan: [{ step: ' ', status: 'pending' }], explanation: null }, context)).rejects.toThrow(/^`plan\.0\.step`: /);
    await expect(updatePlanTool.run({ plan: [{ step: 'Fix', status: 'done' }], explanation: null }, context)).rejects.toThrow(/^`plan\.0\.status`: /);
  });

  it('has a strict schema: every property required, no others', () => {
    const { parameters } = updatePlanTool;
    expect(parameters).toMatchObject({ required: ['plan', 'explanation'], additionalProperties: false });
    expect((parameters as { properties: { plan: { items: unknown } } }).properties.plan.items).toMatchObject({ required: ['step', 'status'], additionalProperties: false });
  });

  it('puts the plan the model last kept into the notes for the pull request', () => {
    const notes = new AgentPlanNotes();
    notes.modelTurn({ text: 'The bug is in add().', toolCalls: [] });
    notes.toolResult({ name: 'update_plan', arguments: { plan: plan.slice(0, 1) }, output: 'Plan updated: 1 of 1 done.' });
    notes.toolResult({ name: 'update_plan', arguments: { plan }, output: 'Plan updated: 1 of 3 done; now: Fix add() in calc.js.' });
    notes.toolResult({ name: 'update_plan', arguments: { plan: [] }, output: 'Error: `plan`: too small' });
    expect(notes.plan().notes).toBe('The bug is in add().\n\nPlan:\n- [x] Reproduce the bug\n- [ ] (in progress) Fix add() in calc.js\n- [ ] Run the tests');
  });
});
