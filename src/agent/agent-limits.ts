import { formatDollars } from '../util/markdown.ts';
import { totalTokens, type TokenUsage } from './conversation.ts';
import type { NoProgressLimits } from './no-progress.ts';

export interface AgentLimits extends NoProgressLimits {
  steps: number;
  /** Epoch milliseconds after which no new step starts. */
  deadline: number;
  tokens: number;
  /** Dollars per task; applies only when the model has a price. */
  dollars?: number;
}

export interface Spent {
  steps: number;
  usage: TokenUsage;
  /** null when the model has no price. */
  dollars: number | null;
}

/** Which limit the next step would break, as the sentence the user reads; undefined when none. */
export function limitReached(limits: AgentLimits, spent: Spent, now: number): string | undefined {
  if (spent.steps >= limits.steps) return `step limit reached (${limits.steps} steps)`;
  if (now > limits.deadline) return 'time limit reached';
  const tokens = totalTokens(spent.usage);
  if (tokens >= limits.tokens) return `token limit reached (${tokens.toLocaleString('en-US')} of ${limits.tokens.toLocaleString('en-US')} tokens)`;
  if (limits.dollars !== undefined && spent.dollars !== null && spent.dollars >= limits.dollars) {
    return `cost limit reached (${formatDollars(spent.dollars)} of ${formatDollars(limits.dollars)})`;
  }
  return undefined;
}
