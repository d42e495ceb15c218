import type { ConversationItem, TokenUsage } from './conversation.ts';

/** What the task has spent in all its runs: what its caps are measured against. */
export interface TaskSpent {
  steps: number;
  usage: TokenUsage;
  dollars: number;
}

/** The agent's conversation at the end of a step: enough to ask the model the next question. */
export interface AgentSnapshot {
  history: ConversationItem[];
  step: number;
  compactions: number;
  edited: boolean;
  testsPassed: boolean | null;
  lastTestOutput?: string;
}
