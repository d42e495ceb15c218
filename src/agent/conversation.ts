// The agent's history in a provider-neutral shape. It only ever grows at the end (until a
// compaction), which keeps every request a byte-identical extension of the previous one and lets
// the provider's prompt cache serve the prefix.
export interface FunctionCall {
  callId: string;
  name: string;
  arguments: string;
}

export type ConversationItem =
  /** `images`: data URLs attached to a user message (issue screenshots), for models that take images. */
  | { type: 'message'; role: 'user' | 'assistant'; content: string; images?: string[] }
  | ({ type: 'function_call' } & FunctionCall)
  | { type: 'function_call_output'; callId: string; output: string }
  /** Provider items we must hand back unchanged (reasoning, compaction), kept verbatim. */
  | { type: 'opaque'; item: unknown };

export interface TokenUsage {
  input: number;
  cached: number;
  output: number;
  reasoning: number;
}

export function emptyUsage(): TokenUsage {
  return { input: 0, cached: 0, output: 0, reasoning: 0 };
}

export function addUsage(total: TokenUsage, more: TokenUsage): TokenUsage {
  return {
    input: total.input + more.input,
    cached: total.cached + more.cached,
    output: total.output + more.output,
    reasoning: total.reasoning + more.reasoning,
  };
}

export function totalTokens(usage: TokenUsage): number {
  return usage.input + usage.output;
}
