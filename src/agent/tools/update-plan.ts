import { z } from 'zod';
import { objectSchema, ToolInputError, type AgentTool } from './tool.ts';

export type PlanStatus = 'pending' | 'in_progress' | 'completed';

/** The agent's own plan, as its `update_plan` tool last set it. */
export interface PlanStep {
  step: string;
  status: PlanStatus;
}

const STATUSES = ['pending', 'in_progress', 'completed'] as const satisfies readonly PlanStatus[];

const planArgs = z.object({
  plan: z
    .array(z.object({ step: z.string().trim().min(1).max(300), status: z.enum(STATUSES) }))
    .min(1)
    .max(30)
    .refine((plan) => plan.filter((s) => s.status === 'in_progress').length <= 1, 'at most one step may be in_progress'),
  explanation: z.string().max(2000).nullish(),
});

/** The model's plan, in its words: shown to the people watching the task. */
export const updatePlanTool: AgentTool = {
  name: 'update_plan',
  description:
    'Keep a short plan of the task: send the whole list each time, marking steps completed as you go and at most one in_progress. People following the task see it.',
  parameters: objectSchema({
    plan: {
      type: 'array',
      description: 'Every step, in order (a few words each)',
      items: objectSchema({
        step: { type: 'string', description: 'What to do, in a few words' },
        status: { type: 'string', enum: STATUSES },
      }),
    },
    explanation: { type: ['string', 'null'], description: 'Why the plan changed; null when it did not' },
  }),
  async run(args) {
    const parsed = planArgs.safeParse(args);
    if (!parsed.success) {
      const issue = parsed.error.issues[0];
      throw new ToolInputError(`\`${issue?.path.join('.') || 'plan'}\`: ${issue?.message ?? 'invalid'}`);
    }
    const plan: PlanStep[] = parsed.data.plan;
    const done = plan.filter((s) => s.status === 'completed').length;
    const current = plan.find((s) => s.status === 'in_progress');
    return { output: `Plan updated: ${done} of ${plan.length} done${current ? `; now: ${current.step}` : ''}.`, plan };
  },
};
