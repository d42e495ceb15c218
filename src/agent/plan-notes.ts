import type { FunctionCall } from './conversation.ts';
import type { TranscriptSink } from './transcript-tap.ts';

export interface AgentPlan {
  /** The model's first words about the task (its plan or first notes), when it wrote any. */
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

/**
 * What the pull request says about how the agent worked: its first notes, the tool calls in
 * order, and the commands it ran to verify with their results.
 */
export class AgentPlanNotes implements TranscriptSink {
  #notes: string | undefined;
  readonly #steps: string[] = [];
  readonly #commands: CommandRun[] = [];

  modelTurn(turn: { text: string; toolCalls: FunctionCall[]; compaction?: boolean }): void {
    if (turn.compaction) return;
    const text = turn.text.trim();
    if (!this.#notes && text) this.#notes = text.length > MAX_NOTES ? `${text.slice(0, MAX_NOTES)}…` : text;
    for (const call of turn.toolCalls) {
      const what = target(call);
      this.#steps.push(what ? `${call.name} ${what}` : call.name);
    }
  }

  toolResult(result: { name: string; arguments: Record<string, unknown>; output: string; testsPassed?: boolean }): void {
    if (result.name === 'run_tests') {
      // The tool's first line is `PASSED: <command>` or `FAILED: <command>`.
      const command = /^(?:PASSED|FAILED): (.*)$/m.exec(result.output)?.[1];
      if (command) this.#commands.push({ command, result: result.testsPassed ? 'passed' : 'failed' });
    } else if (result.name === 'run_shell' && typeof result.arguments.command === 'string') {
      const status = /^(exit code \S+|timed out \(killed\)|cancelled) after/.exec(result.output)?.[1];
      this.#commands.push({ command: result.arguments.command, result: status ?? 'error' });
    }
  }

  plan(): AgentPlan {
    return { ...(this.#notes ? { notes: this.#notes } : {}), steps: [...this.#steps] };
  }

  commands(): CommandRun[] {
    return [...this.#commands];
  }
}
