import type { FunctionCall, TokenUsage } from './conversation.ts';
import type { ModelClient } from './model-client.ts';
import type { AgentTool } from './tools/tool.ts';

/**
 * Where the agent's model turns and tool results go besides the conversation (the task's record
 * for the dashboard and the PR body). Taps wrap the client and the tools, so the loop itself
 * needs no hooks for it. A sink must not throw or wait: the task never waits on its record.
 */
export interface TranscriptSink {
  modelTurn(turn: { model: string; text: string; toolCalls: FunctionCall[]; usage: TokenUsage; compaction?: boolean }): void;
  toolResult(result: { name: string; arguments: Record<string, unknown>; output: string; testsPassed?: boolean }): void;
}

export function tapModelClient(client: ModelClient, sink: TranscriptSink): ModelClient {
  const tapped: ModelClient = {
    async complete(request, signal) {
      const turn = await client.complete(request, signal);
      sink.modelTurn({ model: request.model, text: turn.text, toolCalls: turn.toolCalls, usage: turn.usage });
      return turn;
    },
  };
  const compact = client.compact?.bind(client);
  // Only when the client has it: the compactor picks native compaction by its presence.
  if (compact) {
    tapped.compact = async (request, signal) => {
      const result = await compact(request, signal);
      sink.modelTurn({ model: request.model, text: '', toolCalls: [], usage: result.usage, compaction: true });
      return result;
    };
  }
  return tapped;
}

export function tapTools(tools: readonly AgentTool[], sink: TranscriptSink): AgentTool[] {
  return tools.map((tool) => ({
    ...tool,
    async run(args, context) {
      try {
        const result = await tool.run(args, context);
        sink.toolResult({ name: tool.name, arguments: args, output: result.output, testsPassed: result.testsPassed });
        return result;
      } catch (err) {
        sink.toolResult({ name: tool.name, arguments: args, output: `Error: ${(err as Error).message}` });
        throw err;
      }
    },
  }));
}

/** Sends everything to each sink in turn. */
export function fanOut(...sinks: TranscriptSink[]): TranscriptSink {
  return {
    modelTurn: (turn) => sinks.forEach((sink) => sink.modelTurn(turn)),
    toolResult: (result) => sinks.forEach((sink) => sink.toolResult(result)),
  };
}
