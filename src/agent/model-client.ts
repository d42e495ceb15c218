import OpenAI from 'openai';
import type { ConversationItem, FunctionCall, TokenUsage } from './conversation.ts';

// The only module that imports `openai`. It speaks the Responses API (what Codex models need)
// and falls back to Chat Completions for OpenAI-compatible servers that lack it.

export interface ToolSchema {
  name: string;
  description: string;
  parameters: Record<string, unknown>;
}

export interface ModelRequest {
  model: string;
  instructions: string;
  tools: ToolSchema[];
  history: ConversationItem[];
  /** Routes requests of one task to the same cache shard. */
  promptCacheKey?: string;
  /** 'none' asks for text only while keeping the tools in the (cached) prompt. */
  toolChoice?: 'auto' | 'none';
}

export interface CompactedHistory {
  /** The history to continue from, as the provider returned it. */
  items: ConversationItem[];
  usage: TokenUsage;
}

export interface ModelTurn {
  /** Items to append to the history, in order. */
  items: ConversationItem[];
  toolCalls: FunctionCall[];
  text: string;
  usage: TokenUsage;
}

export interface ModelClient {
  complete(request: ModelRequest, signal?: AbortSignal): Promise<ModelTurn>;
  /** Native compaction (POST /responses/compact); absent on APIs without it. */
  compact?(request: Omit<ModelRequest, 'tools' | 'toolChoice'>, signal?: AbortSignal): Promise<CompactedHistory>;
}

export type ModelApi = 'responses' | 'chat';

export interface ModelClientOptions {
  apiKey: string;
  baseURL?: string;
  api?: ModelApi;
  /** The SDK retries 429 and 5xx with backoff, honouring retry-after. */
  maxRetries?: number;
  timeoutMs?: number;
  /** The HTTP client (a proxy-aware one, or one that measures). */
  fetch?: typeof fetch;
}

export class ModelError extends Error {
  override name = 'ModelError';
  readonly status?: number;
  readonly code?: string;
  constructor(message: string, status?: number, code?: string) {
    super(message);
    this.status = status;
    this.code = code;
  }
  get contextLengthExceeded(): boolean {
    return this.code === 'context_length_exceeded';
  }
  /** Errors that more waiting will not fix. */
  get permanent(): boolean {
    return this.status !== undefined && [400, 401, 403, 404, 422].includes(this.status);
  }
}

function toModelError(err: unknown): unknown {
  if (err instanceof OpenAI.APIUserAbortError) return err;
  if (err instanceof OpenAI.APIError) {
    const code = typeof err.code === 'string' ? err.code : undefined;
    return new ModelError(`model API error ${err.status ?? ''}: ${err.message}`.trim(), err.status, code);
  }
  return err;
}

function toResponsesInput(history: ConversationItem[]): unknown[] {
  return history.map((item) => {
    switch (item.type) {
      case 'message':
        if (!item.images?.length) return { role: item.role, content: item.content };
        return {
          role: item.role,
          content: [
            { type: 'input_text', text: item.content },
            ...item.images.map((url) => ({ type: 'input_image', image_url: url, detail: 'auto' })),
          ],
        };
      case 'function_call':
        return { type: 'function_call', call_id: item.callId, name: item.name, arguments: item.arguments };
      case 'function_call_output':
        return { type: 'function_call_output', call_id: item.callId, output: item.output };
      case 'opaque':
        return item.item;
    }
  });
}

function fromResponsesOutput(output: Array<Record<string, unknown>>): Pick<ModelTurn, 'items' | 'toolCalls' | 'text'> {
  const items: ConversationItem[] = [];
  const toolCalls: FunctionCall[] = [];
  const texts: string[] = [];
  for (const raw of output) {
    if (raw.type === 'function_call') {
      const call = { callId: String(raw.call_id), name: String(raw.name), arguments: String(raw.arguments ?? '') };
      toolCalls.push(call);
      items.push({ type: 'function_call', ...call });
    } else if (raw.type === 'message') {
      const content = (raw.content as Array<{ type: string; text?: string }> | undefined) ?? [];
      const text = content
        .filter((part) => part.type === 'output_text')
        .map((part) => part.text ?? '')
        .join('');
      texts.push(text);
      items.push({ type: 'message', role: 'assistant', content: text });
    } else if (raw.type === 'reasoning' || raw.type === 'compaction') {
      items.push({ type: 'opaque', item: raw });
    }
  }
  return { items, toolCalls, text: texts.join('\n') };
}

function fromResponsesUsage(usage: OpenAI.Responses.ResponseUsage | null | undefined): TokenUsage {
  return {
    input: usage?.input_tokens ?? 0,
    cached: usage?.input_tokens_details?.cached_tokens ?? 0,
    output: usage?.output_tokens ?? 0,
    reasoning: usage?.output_tokens_details?.reasoning_tokens ?? 0,
  };
}

function toChatMessages(instructions: string, history: ConversationItem[]): unknown[] {
  const messages: Array<Record<string, unknown>> = [{ role: 'system', content: instructions }];
  for (const item of history) {
    const last = messages[messages.length - 1];
    if (item.type === 'message') {
      const content = item.images?.length
        ? [{ type: 'text', text: item.content }, ...item.images.map((url) => ({ type: 'image_url', image_url: { url } }))]
        : item.content;
      messages.push({ role: item.role, content });
    } else if (item.type === 'function_call') {
      const call = { id: item.callId, type: 'function', function: { name: item.name, arguments: item.arguments } };
      // Calls of one turn belong to one assistant message (after its text, if any).
      if (last?.role === 'assistant') {
        last.tool_calls = [...((last.tool_calls as unknown[]) ?? []), call];
      } else {
        messages.push({ role: 'assistant', content: null, tool_calls: [call] });
      }
    } else if (item.type === 'function_call_output') {
      messages.push({ role: 'tool', tool_call_id: item.callId, content: item.output });
    }
  }
  return messages;
}

export function createModelClient(options: ModelClientOptions): ModelClient {
  const client = new OpenAI({
    apiKey: options.apiKey,
    baseURL: options.baseURL,
    maxRetries: options.maxRetries ?? 6,
    timeout: options.timeoutMs ?? 10 * 60_000,
    fetch: options.fetch,
  });
  const api = options.api ?? 'responses';

  async function completeWithResponses(request: ModelRequest, signal?: AbortSignal): Promise<ModelTurn> {
    const response = await client.responses.create(
      {
        model: request.model,
        instructions: request.instructions,
        input: toResponsesInput(request.history) as OpenAI.Responses.ResponseInput,
        tools: request.tools.map((tool) => ({
          type: 'function' as const,
          name: tool.name,
          description: tool.description,
          parameters: tool.parameters,
          strict: true,
        })),
        tool_choice: request.toolChoice ?? 'auto',
        parallel_tool_calls: true,
        store: false,
        include: ['reasoning.encrypted_content'],
        prompt_cache_key: request.promptCacheKey,
      },
      { signal },
    );
    return {
      ...fromResponsesOutput(response.output as unknown as Array<Record<string, unknown>>),
      usage: fromResponsesUsage(response.usage),
    };
  }

  async function compactWithResponses(request: Omit<ModelRequest, 'tools' | 'toolChoice'>, signal?: AbortSignal): Promise<CompactedHistory> {
    const compacted = await client.responses.compact(
      {
        model: request.model,
        instructions: request.instructions,
        input: toResponsesInput(request.history) as OpenAI.Responses.ResponseInput,
        prompt_cache_key: request.promptCacheKey,
      },
      { signal },
    );
    // The output (the user messages, then one compaction item) is the next request's input as is.
    return {
      items: compacted.output.map((item): ConversationItem => ({ type: 'opaque', item })),
      usage: fromResponsesUsage(compacted.usage),
    };
  }

  async function completeWithChat(request: ModelRequest, signal?: AbortSignal): Promise<ModelTurn> {
    const completion = await client.chat.completions.create(
      {
        model: request.model,
        messages: toChatMessages(request.instructions, request.history) as OpenAI.Chat.ChatCompletionMessageParam[],
        tools: request.tools.map((tool) => ({
          type: 'function' as const,
          function: { name: tool.name, description: tool.description, parameters: tool.parameters },
        })),
        tool_choice: request.toolChoice ?? 'auto',
      },
      { signal },
    );
    const message = completion.choices[0]?.message;
    const toolCalls: FunctionCall[] = (message?.tool_calls ?? [])
      .filter((call) => call.type === 'function')
      .map((call) => ({ callId: call.id, name: call.function.name, arguments: call.function.arguments }));
    const text = message?.content ?? '';
    const items: ConversationItem[] = [];
    if (text) items.push({ type: 'message', role: 'assistant', content: text });
    for (const call of toolCalls) items.push({ type: 'function_call', ...call });
    const usage = completion.usage;
    return {
      items,
      toolCalls,
      text,
      usage: {
        input: usage?.prompt_tokens ?? 0,
        cached: usage?.prompt_tokens_details?.cached_tokens ?? 0,
        output: usage?.completion_tokens ?? 0,
        reasoning: usage?.completion_tokens_details?.reasoning_tokens ?? 0,
      },
    };
  }

  const complete: ModelClient['complete'] = async (request, signal) => {
    try {
      return api === 'chat' ? await completeWithChat(request, signal) : await completeWithResponses(request, signal);
    } catch (err) {
      throw toModelError(err);
    }
  };
  if (api === 'chat') return { complete };
  return {
    complete,
    async compact(request, signal) {
      try {
        return await compactWithResponses(request, signal);
      } catch (err) {
        throw toModelError(err);
      }
    },
  };
}
