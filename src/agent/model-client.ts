import OpenAI from 'openai';
import type { ConversationItem, FunctionCall, TokenUsage } from './conversation.ts';
import { DEFAULT_RETRY_POLICY, retryAfterMs, withModelRetries, type RetryPolicy, type TryFailure } from './model-retry.ts';

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
  /** Epoch ms the task's time runs out: no try outlasts it, no retry waits beyond it. */
  deadline?: number;
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
  /** Retries after the first try of a request (429, 5xx, lost connections, cut responses). */
  maxRetries?: number;
  /** Backoff and when a long retry-after parks the task instead of waiting. */
  retry?: Partial<Omit<RetryPolicy, 'attempts'>>;
  /** One try's ceiling; the task's deadline shortens it. */
  timeoutMs?: number;
  onRetry?: (info: { attempt: number; waitMs: number; reason: string }) => void;
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

/** A response that ended before its body did (the connection dropped, the JSON is truncated). */
// By name: fetch's errors may come from another realm (a test runner's sandbox).
function cutShort(err: unknown): boolean {
  if (typeof err !== 'object' || err === null || !('name' in err)) return false;
  if (err.name === 'SyntaxError') return true;
  if (err.name !== 'TypeError') return false;
  const code = ((err as { cause?: { code?: string } }).cause?.code) ?? '';
  return (err as Error).message === 'terminated' || code.startsWith('UND_ERR') || code === 'ECONNRESET';
}

function classifyTry(err: unknown): TryFailure {
  if (err instanceof OpenAI.APIUserAbortError) return { kind: 'fatal' };
  if (err instanceof OpenAI.APIConnectionError) return { kind: 'transient' };
  if (err instanceof OpenAI.APIError) {
    // The SDK types these loosely; they are what the HTTP response carried.
    const headers = err.headers as Headers | undefined;
    const shouldRetry = headers?.get('x-should-retry');
    if (shouldRetry === 'false') return { kind: 'fatal' };
    const status = (err.status as number | undefined) ?? 0;
    const transient = shouldRetry === 'true' || [408, 409, 429].includes(status) || status >= 500;
    return transient ? { kind: 'transient', waitMs: retryAfterMs(headers) } : { kind: 'fatal' };
  }
  return cutShort(err) ? { kind: 'transient' } : { kind: 'fatal' };
}

function describeTry(err: unknown): string {
  if (cutShort(err)) return "the model's response was cut off before it was complete";
  return err instanceof Error ? err.message : String(err);
}

// What to change when the endpoint answers this, by HTTP status.
const FIX_FOR_STATUS: Record<number, string> = {
  401: 'check OPENAI_API_KEY (a key this endpoint accepts)',
  403: 'check that OPENAI_API_KEY may use this model (AI_FIX_MODEL)',
  404: 'check AI_FIX_MODEL and OPENAI_BASE_URL (it usually ends in /v1); a server without the Responses API needs AI_FIX_MODEL_API=chat',
};

/** The connection failure's own words (ECONNREFUSED 127.0.0.1:9, ENOTFOUND host), not fetch's "fetch failed". */
function connectionReason(err: Error): string {
  type Cause = { message?: string; cause?: unknown; code?: string; address?: string; port?: number; hostname?: string };
  // Duck-typed: the network's errors may come from another realm than this module's Error.
  const isCause = (value: unknown): value is Cause => typeof value === 'object' && value !== null;
  let detail: unknown = err.cause;
  while (isCause(detail) && isCause(detail.cause)) detail = detail.cause;
  if (!isCause(detail)) return err.message;
  const where = detail.address ? ` ${detail.address}${detail.port ? `:${detail.port}` : ''}` : detail.hostname ? ` ${detail.hostname}` : '';
  return detail.code ? `${detail.code}${where}` : (detail.message ?? err.message);
}

/** One line naming what failed and the setting that fixes it; messages start with "model API" (see model-endpoint.ts). */
function toModelError(err: unknown): unknown {
  if (err instanceof OpenAI.APIUserAbortError) return err;
  if (err instanceof OpenAI.APIConnectionTimeoutError) return new ModelError('model API timed out: check OPENAI_BASE_URL, or try again later');
  if (err instanceof OpenAI.APIConnectionError) return new ModelError(`model API unreachable (${connectionReason(err)}): check OPENAI_BASE_URL`);
  if (err instanceof OpenAI.APIError) {
    const code = typeof err.code === 'string' ? err.code : undefined;
    const message = err.message.replace(/\s+/g, ' ').trim();
    const status = err.status as number | undefined;
    const fix = status === undefined ? undefined : FIX_FOR_STATUS[status];
    return new ModelError(`model API answered ${message}${fix ? `: ${fix}` : ''}`, status, code);
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
      const call = { callId: String(raw.call_id), name: String(raw.name), arguments: typeof raw.arguments === 'string' ? raw.arguments : '' };
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
    maxRetries: 0,
    fetch: options.fetch,
  });
  const api = options.api ?? 'responses';
  const policy: RetryPolicy = { ...DEFAULT_RETRY_POLICY, ...options.retry, attempts: (options.maxRetries ?? DEFAULT_RETRY_POLICY.attempts - 1) + 1 };
  const tryTimeout = options.timeoutMs ?? 10 * 60_000;
  /** One request, retried in place; `send` gets the SDK's per-try options. */
  const withRetries = <T>(deadline: number | undefined, signal: AbortSignal | undefined, send: (tryOptions: { signal?: AbortSignal; timeout: number }) => Promise<T>): Promise<T> =>
    withModelRetries(
      policy,
      { signal, deadline, onRetry: ({ attempt, waitMs, error }) => options.onRetry?.({ attempt, waitMs, reason: describeTry(error) }) },
      classifyTry,
      (left) => send({ signal, timeout: Math.max(1, Math.min(tryTimeout, left ?? tryTimeout)) }),
    ).catch((err: unknown) => {
      // Tries used up on responses that kept breaking off: say so, not "terminated".
      if (cutShort(err)) throw new ModelError(`${describeTry(err)} (${policy.attempts} tries)`);
      throw err;
    });

  async function completeWithResponses(request: ModelRequest, signal?: AbortSignal): Promise<ModelTurn> {
    const response = await withRetries(request.deadline, signal, (tryOptions) => client.responses.create(
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
      tryOptions,
    ));
    return {
      ...fromResponsesOutput(response.output as unknown as Array<Record<string, unknown>>),
      usage: fromResponsesUsage(response.usage),
    };
  }

  async function compactWithResponses(request: Omit<ModelRequest, 'tools' | 'toolChoice'>, signal?: AbortSignal): Promise<CompactedHistory> {
    const compacted = await withRetries(request.deadline, signal, (tryOptions) => client.responses.compact(
      {
        model: request.model,
        instructions: request.instructions,
        input: toResponsesInput(request.history) as OpenAI.Responses.ResponseInput,
        prompt_cache_key: request.promptCacheKey,
      },
      tryOptions,
    ));
    // The output (the user messages, then one compaction item) is the next request's input as is.
    return {
      items: compacted.output.map((item): ConversationItem => ({ type: 'opaque', item })),
      usage: fromResponsesUsage(compacted.usage),
    };
  }

  async function completeWithChat(request: ModelRequest, signal?: AbortSignal): Promise<ModelTurn> {
    const completion = await withRetries(request.deadline, signal, (tryOptions) => client.chat.completions.create(
      {
        model: request.model,
        messages: toChatMessages(request.instructions, request.history) as OpenAI.Chat.ChatCompletionMessageParam[],
        tools: request.tools.map((tool) => ({
          type: 'function' as const,
          function: { name: tool.name, description: tool.description, parameters: tool.parameters },
        })),
        tool_choice: request.toolChoice ?? 'auto',
      },
      tryOptions,
    ));
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
