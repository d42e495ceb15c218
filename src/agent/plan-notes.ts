import type { FunctionCall } from './conversation.ts';
import type { PlanStep } from './tools/update-plan.ts';
import type { TranscriptSink } from './transcript-tap.ts';

export interface AgentPlan {
  /** The model's first words about the task (its plan or first notes) and the plan it last kept, when it wrote any. */
  notes?: string;
  /** Every tool call in order, as `tool target`. */
  steps: string[];
}

export interface CommandRun {
  command: string;
  /** `passed`, `failed`, `exit code 2`, `timed out (killed)`… */
  result: string;
}

const MAX_NOTES = 2000;

function target(call: { name: string; arguments: string }): string {
  try {
    const args = JSON.parse(call.arguments || '{}') as Record<string, unknown>;
    const value = args.path ?? args.command ?? args.pattern ?? args.summary;
    return typeof value === 'string' ? value.split('\n')[0]!.slice(0, 120) : '';
  } catch {
    return '';
  }
}

/** A tool call in a few words: `tool target`. */
export function describeCall(call: { name: string; arguments: string }): string {
  const what = target(call);
  return what ? `${call.name} ${what}` : call.name;
}

const CHECKBOX: Record<PlanStep['status'], string> = { completed: '[x]', in_progress: '[ ] (in progress)', pending: '[ ]' };

function checklist(plan: PlanStep[]): string {
  return ['Plan:', ...plan.map(({ step, status }) => `- ${CHECKBOX[status]} ${step.replace(/\s+/g, ' ')}`)].join('\n');
}

/**
 * What the pull request says about how the agent worked: its first notes, the tool calls in
 * order, and the commands it ran to verify with their results.
 */
export class AgentPlanNotes implements TranscriptSink {
  #notes: string | undefined;
  #plan: PlanStep[] | undefined;
  readonly #steps: string[] = [];
  readonly #commands: CommandRun[] = [];

  modelTurn(turn: { text: string; toolCalls: FunctionCall[]; compaction?: boolean }): void {
    if (turn.compaction) return;
    const text = turn.text.trim();
    if (!this.#notes && text) this.#notes = text.length > MAX_NOTES ? `${text.slice(0, MAX_NOTES)}…` : text;
    for (const call of turn.toolCalls) this.#steps.push(describeCall(call));
  }

  toolResult(result: { name: string; arguments: Record<string, unknown>; output: string; testsPassed?: boolean }): void {
    // update_plan refused what it did not validate: its error outputs start with `Error:`.
    if (result.name === 'update_plan' && !result.output.startsWith('Error')) {
      this.#plan = result.arguments.plan as PlanStep[];
    } else if (result.name === 'run_tests') {
      // The tool's first line is `PASSED: <command>` or `FAILED: <command>`.
      const command = /^(?:PASSED|FAILED): (.*)$/m.exec(result.output)?.[1];
      if (command) this.#commands.push({ command, result: result.testsPassed ? 'passed' : 'failed' });
    } else if (result.name === 'run_shell' && typeof result.arguments.command === 'string') {
      const status = /^(exit code \S+|timed out \(killed\)|cancelled) after/.exec(result.output)?.[1];
      this.#commands.push({ command: result.arguments.command, result: status ?? 'error' });
    }
  }

  plan(): AgentPlan {
    const notes = [this.#notes, this.#plan && checklist(this.#plan)].filter(Boolean).join('\n\n');
    return { ...(notes ? { notes } : {}), steps: [...this.#steps] };
  }

  commands(): CommandRun[] {
    return [...this.#commands];
  }
}
