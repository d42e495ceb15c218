// A local stand-in for the OpenAI HTTP API (Responses, Responses compact, Chat Completions) that
// replays scripted turns, so tests can drive the real `openai` client without the internet.
// Wire shapes mirror openai@7 (src/resources/responses/responses.ts, chat/completions) and the
// SDK's strict streaming accumulator (src/internal/responses/response-accumulator.ts).
import { createServer } from 'node:http';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { randomBytes } from 'node:crypto';

export interface ToolCallSpec {
  name: string;
  arguments: Record<string, unknown> | string;
  callId?: string;
}

export interface UsageSpec {
  inputTokens: number;
  cachedTokens: number;
  outputTokens: number;
  reasoningTokens: number;
}

export interface ErrorSpec {
  status: number;
  message?: string;
  type?: string;
  code?: string;
  param?: string;
  headers?: Record<string, string>;
}

export interface ToolCallsTurn {
  toolCalls: ToolCallSpec[];
  text?: string;
  reasoning?: boolean;
  usage?: Partial<UsageSpec>;
}
export interface TextTurn {
  text: string;
  usage?: Partial<UsageSpec>;
}
export interface ErrorTurn {
  error: ErrorSpec;
}
export interface DelayedTurn {
  delayMs: number;
  then: ScriptedTurn;
}
/** A 200 whose body breaks off halfway (the connection drops mid-response). */
export interface CutTurn {
  cut: true;
}
export type ScriptedTurn = ToolCallsTurn | TextTurn | ErrorTurn | DelayedTurn | CutTurn;

export interface RecordedModelRequest {
  endpoint: 'responses' | 'chat' | 'compact';
  body: any;
  headers: Record<string, string>;
  stream: boolean;
  /** HTTP status the sim answered with (set once the answer starts). */
  status?: number;
  /** True when the client went away before the answer was complete (e.g. an aborted delayed turn). */
  aborted?: boolean;
}

export type ScriptFn = (request: RecordedModelRequest, index: number) => ScriptedTurn;

export interface ModelSim {
  url: string;
  apiKey: string;
  requests: RecordedModelRequest[];
  script(turns: ScriptedTurn[] | ScriptFn): void;
  /** Scripted turns not yet consumed (Infinity for a function script). */
  remainingTurns(): number;
  close(): Promise<void>;
}

export interface ModelSimOptions {
  apiKey?: string;
  turns?: ScriptedTurn[] | ScriptFn;
  contextWindow?: number;
  /** Model id listed by GET /v1/models (default 'gpt-sim'). */
  model?: string;
}

/** The sim's token estimate: ~4 characters per token. */
export function estimateTokens(text: string): number {
  return Math.ceil(text.length / 4);
}

/** Reads back what the sim packed into a compaction item's encrypted_content. */
export function decodeCompaction(
  encryptedContent: string,
): { summary: string; compactedItems: number } | undefined {
  try {
    const parsed: unknown = JSON.parse(Buffer.from(encryptedContent, 'base64').toString('utf8'));
    if (parsed && typeof parsed === 'object' && 'summary' in parsed && 'compactedItems' in parsed) {
      const { summary, compactedItems } = parsed;
      if (typeof summary === 'string' && typeof compactedItems === 'number') return { summary, compactedItems };
    }
  } catch {
    // Not ours: fall through.
  }
  return undefined;
}

// Resolved model answer, whichever endpoint renders it.
interface Answer {
  text: string | undefined;
  toolCalls: { name: string; arguments: string; callId: string }[];
  reasoning: boolean;
  usage: UsageSpec;
}

interface PromptRecord {
  endpoint: 'responses' | 'chat';
  cacheKey: string | undefined;
  prompt: string;
}

const id = (prefix: string, bytes = 24) => `${prefix}${randomBytes(bytes).toString('hex')}`;
const now = () => Math.floor(Date.now() / 1000);

function errorBody(message: string, type: string, param: string | null, code: string | null) {
  return { error: { message, type, param, code } };
}

// Splits text into word-sized deltas, as the API streams roughly per token.
function textPieces(text: string): string[] {
  return text.match(/\s*\S+\s*|\s+/g) ?? [];
}

function argPieces(args: string): string[] {
  const pieces: string[] = [];
  for (let i = 0; i < args.length; i += 16) pieces.push(args.slice(i, i + 16));
  return pieces;
}

function commonPrefixLength(a: string, b: string): number {
  const n = Math.min(a.length, b.length);
  let i = 0;
  while (i < n && a.charCodeAt(i) === b.charCodeAt(i)) i++;
  return i;
}

// OpenAI caches prompts of >= 1024 tokens in 128-token increments.
function cachedTokensFor(prefixChars: number): number {
  const tokens = Math.floor(prefixChars / 4);
  return tokens < 1024 ? 0 : Math.floor(tokens / 128) * 128;
}

function maskKey(key: string): string {
  if (key.length <= 8) return '*'.repeat(key.length);
  return `${key.slice(0, 3)}${'*'.repeat(Math.min(key.length - 7, 40))}${key.slice(-4)}`;
}

async function readBody(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

function lowerHeaders(req: IncomingMessage): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, value] of Object.entries(req.headers)) {
    if (value === undefined) continue;
    out[name.toLowerCase()] = Array.isArray(value) ? value.join(', ') : value;
  }
  return out;
}

// The part of a request that forms the model's prompt, in prompt order (system, tools, history),
// so common prefixes behave like OpenAI's prefix-based prompt cache.
export function promptText(endpoint: 'responses' | 'chat' | 'compact', body: any): string {
  if (endpoint === 'chat') return JSON.stringify({ tools: body?.tools, messages: body?.messages });
  return JSON.stringify({ instructions: body?.instructions, tools: body?.tools, input: body?.input });
}

function userMessages(input: unknown): unknown[] {
  if (typeof input === 'string') {
    return [{ id: id('msg_'), type: 'message', status: 'completed', role: 'user', content: [{ type: 'input_text', text: input }] }];
  }
  if (!Array.isArray(input)) return [];
  const kept: unknown[] = [];
  for (const item of input) {
    if (!item || typeof item !== 'object') continue;
    const msg = item as { type?: unknown; role?: unknown; content?: unknown; id?: unknown };
    if ((msg.type === undefined || msg.type === 'message') && msg.role === 'user') {
      const content =
        typeof msg.content === 'string' ? [{ type: 'input_text', text: msg.content }] : (msg.content ?? []);
      kept.push({
        id: typeof msg.id === 'string' ? msg.id : id('msg_'),
        type: 'message',
        status: 'completed',
        role: 'user',
        content,
      });
    }
  }
  return kept;
}

export async function startModelSim(options: ModelSimOptions = {}): Promise<ModelSim> {
  const apiKey = options.apiKey ?? id('sk-sim-', 12);
  const contextWindow = options.contextWindow;
  const modelId = options.model ?? 'gpt-sim';
  const requests: RecordedModelRequest[] = [];
  const history: PromptRecord[] = [];
  let script: ScriptedTurn[] | ScriptFn = options.turns ?? [];
  let consumed = 0;

  function nextTurn(record: RecordedModelRequest): ScriptedTurn {
    const index = consumed++;
    if (typeof script === 'function') return script(record, index);
    const turn = script[index];
    if (turn) return turn;
    // x-should-retry: false so a client with retries surfaces the failure at once.
    return {
      error: {
        status: 500,
        message: `model-sim: script exhausted (request #${index + 1}, ${script.length} turn(s) scripted)`,
        type: 'server_error',
        code: 'script_exhausted',
        headers: { 'x-should-retry': 'false' },
      },
    };
  }

  function cachedTokens(endpoint: 'responses' | 'chat', cacheKey: string | undefined, prompt: string): number {
    for (let i = history.length - 1; i >= 0; i--) {
      const previous = history[i]!;
      if (previous.endpoint !== endpoint) continue;
      if (cacheKey !== undefined && previous.cacheKey !== cacheKey) continue;
      return cachedTokensFor(commonPrefixLength(previous.prompt, prompt));
    }
    return 0;
  }

  function sendJson(
    res: ServerResponse,
    record: RecordedModelRequest | undefined,
    status: number,
    body: unknown,
    headers: Record<string, string> = {},
  ): void {
    if (record) record.status = status;
    if (res.destroyed) return;
    const text = JSON.stringify(body);
    res.writeHead(status, {
      ...headers,
      'content-type': 'application/json',
      'content-length': Buffer.byteLength(text),
    });
    res.end(text);
  }

  function sendError(res: ServerResponse, record: RecordedModelRequest | undefined, error: ErrorSpec): void {
    const type = error.type ?? (error.status >= 500 ? 'server_error' : 'invalid_request_error');
    const message = error.message ?? `model-sim scripted error ${error.status}`;
    sendJson(res, record, error.status, errorBody(message, type, error.param ?? null, error.code ?? null), error.headers);
  }

  // Resolves after ms, or early with false when the client disconnects.
  function wait(ms: number, res: ServerResponse): Promise<boolean> {
    if (res.destroyed) return Promise.resolve(false);
    if (ms <= 0) return Promise.resolve(true);
    return new Promise((resolve) => {
      const onClose = () => {
        clearTimeout(timer);
        resolve(false);
      };
      const timer = setTimeout(() => {
        res.off('close', onClose);
        resolve(true);
      }, ms);
      res.once('close', onClose);
    });
  }

  function makeAnswer(turn: ToolCallsTurn | TextTurn, inputTokens: number, cached: number): Answer {
    const toolCalls =
      'toolCalls' in turn
        ? turn.toolCalls.map((call) => ({
            name: call.name,
            arguments: typeof call.arguments === 'string' ? call.arguments : JSON.stringify(call.arguments),
            callId: call.callId ?? id('call_', 12),
          }))
        : [];
    const text = 'toolCalls' in turn ? (turn.text ? turn.text : undefined) : turn.text;
    const reasoning = 'toolCalls' in turn ? turn.reasoning === true : false;
    const outputChars = (text ?? '').length + toolCalls.reduce((n, c) => n + c.name.length + c.arguments.length, 0);
    const reasoningTokens = turn.usage?.reasoningTokens ?? (reasoning ? 64 : 0);
    const usage: UsageSpec = {
      inputTokens,
      cachedTokens: Math.min(cached, inputTokens),
      outputTokens: Math.ceil(outputChars / 4) + reasoningTokens,
      reasoningTokens,
      ...turn.usage,
    };
    return { text, toolCalls, reasoning, usage };
  }

  // ---- Responses API -------------------------------------------------------------------------

  function responsesUsage(u: UsageSpec) {
    return {
      input_tokens: u.inputTokens,
      input_tokens_details: { cache_write_tokens: 0, cached_tokens: u.cachedTokens },
      output_tokens: u.outputTokens,
      output_tokens_details: { reasoning_tokens: u.reasoningTokens },
      total_tokens: u.inputTokens + u.outputTokens,
    };
  }

  function responseEnvelope(body: any, responseId: string, createdAt: number) {
    return {
      id: responseId,
      object: 'response',
      created_at: createdAt,
      status: 'in_progress',
      background: false,
      completed_at: null,
      error: null,
      incomplete_details: null,
      instructions: body.instructions ?? null,
      max_output_tokens: body.max_output_tokens ?? null,
      max_tool_calls: body.max_tool_calls ?? null,
      model: body.model ?? modelId,
      output: [] as unknown[],
      parallel_tool_calls: body.parallel_tool_calls ?? true,
      previous_response_id: body.previous_response_id ?? null,
      prompt_cache_key: body.prompt_cache_key ?? null,
      reasoning: { effort: body.reasoning?.effort ?? null, summary: body.reasoning?.summary ?? null },
      safety_identifier: body.safety_identifier ?? null,
      service_tier: 'default',
      store: body.store ?? true,
      temperature: body.temperature ?? 1,
      text: body.text ?? { format: { type: 'text' } },
      tool_choice: body.tool_choice ?? 'auto',
      tools: body.tools ?? [],
      top_p: body.top_p ?? 1,
      truncation: body.truncation ?? 'disabled',
      usage: null as unknown,
      user: body.user ?? null,
      metadata: body.metadata ?? {},
      access_programs: null,
    };
  }

  // Final (completed) output items, in output order: reasoning, message, function calls.
  function responseItems(answer: Answer, body: any) {
    const items: any[] = [];
    if (answer.reasoning) {
      const item: any = { id: id('rs_'), type: 'reasoning', summary: [] };
      const include: unknown = body.include;
      if (Array.isArray(include) && include.includes('reasoning.encrypted_content')) {
        item.encrypted_content = Buffer.from(`model-sim reasoning ${item.id}`).toString('base64');
      }
      items.push(item);
    }
    if (answer.text !== undefined) {
      items.push({
        id: id('msg_'),
        type: 'message',
        status: 'completed',
        content: [{ type: 'output_text', annotations: [], logprobs: [], text: answer.text }],
        role: 'assistant',
      });
    }
    for (const call of answer.toolCalls) {
      items.push({
        id: id('fc_'),
        type: 'function_call',
        status: 'completed',
        arguments: call.arguments,
        call_id: call.callId,
        name: call.name,
      });
    }
    return items;
  }

  async function answerResponses(
    res: ServerResponse,
    record: RecordedModelRequest,
    body: any,
    answer: Answer,
    delayMs: number,
  ): Promise<void> {
    const envelope = responseEnvelope(body, id('resp_'), now());
    const items = responseItems(answer, body);
    const completed = () => ({
      ...envelope,
      status: 'completed',
      completed_at: now(),
      output: items,
      usage: responsesUsage(answer.usage),
    });

    if (!record.stream) {
      if (!(await wait(delayMs, res))) return;
      sendJson(res, record, 200, completed());
      return;
    }

    record.status = 200;
    res.writeHead(200, { 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-cache' });
    let seq = 0;
    const emit = (event: Record<string, unknown> & { type: string }) => {
      if (res.destroyed) return;
      res.write(`event: ${event.type}\ndata: ${JSON.stringify({ ...event, sequence_number: seq++ })}\n\n`);
    };
    // Lifecycle events first, like the API, so a slow turn looks "connected but thinking".
    emit({ type: 'response.created', response: envelope });
    emit({ type: 'response.in_progress', response: envelope });
    if (!(await wait(delayMs, res))) return;

    items.forEach((item, outputIndex) => {
      if (item.type === 'message') {
        const text: string = item.content[0].text;
        emit({
          type: 'response.output_item.added',
          output_index: outputIndex,
          item: { id: item.id, type: 'message', status: 'in_progress', content: [], role: 'assistant' },
        });
        const base = { item_id: item.id, output_index: outputIndex, content_index: 0 };
        emit({
          type: 'response.content_part.added',
          ...base,
          part: { type: 'output_text', annotations: [], logprobs: [], text: '' },
        });
        for (const delta of textPieces(text)) {
          emit({ type: 'response.output_text.delta', ...base, delta, logprobs: [] });
        }
        emit({ type: 'response.output_text.done', ...base, text, logprobs: [] });
        emit({ type: 'response.content_part.done', ...base, part: item.content[0] });
      } else if (item.type === 'function_call') {
        emit({
          type: 'response.output_item.added',
          output_index: outputIndex,
          item: { ...item, status: 'in_progress', arguments: '' },
        });
        const base = { item_id: item.id, output_index: outputIndex };
        for (const delta of argPieces(item.arguments)) {
          emit({ type: 'response.function_call_arguments.delta', ...base, delta });
        }
        emit({ type: 'response.function_call_arguments.done', ...base, arguments: item.arguments });
      } else {
        const { encrypted_content: _hiddenUntilDone, ...added } = item;
        emit({ type: 'response.output_item.added', output_index: outputIndex, item: added });
      }
      emit({ type: 'response.output_item.done', output_index: outputIndex, item });
    });
    emit({ type: 'response.completed', response: completed() });
    if (!res.destroyed) res.end();
  }

  // ---- Chat Completions ----------------------------------------------------------------------

  function chatUsage(u: UsageSpec) {
    return {
      prompt_tokens: u.inputTokens,
      completion_tokens: u.outputTokens,
      total_tokens: u.inputTokens + u.outputTokens,
      prompt_tokens_details: { cached_tokens: u.cachedTokens, audio_tokens: 0 },
      completion_tokens_details: {
        reasoning_tokens: u.reasoningTokens,
        audio_tokens: 0,
        accepted_prediction_tokens: 0,
        rejected_prediction_tokens: 0,
      },
    };
  }

  async function answerChat(
    res: ServerResponse,
    record: RecordedModelRequest,
    body: any,
    answer: Answer,
    delayMs: number,
  ): Promise<void> {
    const base = {
      id: id('chatcmpl-', 15),
      created: now(),
      model: body.model ?? modelId,
      service_tier: 'default',
      system_fingerprint: 'fp_modelsim',
    };
    const toolCalls = answer.toolCalls.map((call) => ({
      id: call.callId,
      type: 'function' as const,
      function: { name: call.name, arguments: call.arguments },
    }));
    const finishReason = toolCalls.length ? 'tool_calls' : 'stop';

    if (!record.stream) {
      if (!(await wait(delayMs, res))) return;
      const message: Record<string, unknown> = {
        role: 'assistant',
        content: answer.text ?? null,
        refusal: null,
        annotations: [],
      };
      if (toolCalls.length) message['tool_calls'] = toolCalls;
      sendJson(res, record, 200, {
        ...base,
        object: 'chat.completion',
        choices: [{ index: 0, message, logprobs: null, finish_reason: finishReason }],
        usage: chatUsage(answer.usage),
      });
      return;
    }

    const includeUsage = body.stream_options?.include_usage === true;
    record.status = 200;
    res.writeHead(200, { 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-cache' });
    const emit = (delta: Record<string, unknown>, finish: string | null = null) => {
      if (res.destroyed) return;
      const chunk = {
        ...base,
        object: 'chat.completion.chunk',
        choices: [{ index: 0, delta, logprobs: null, finish_reason: finish }],
        ...(includeUsage ? { usage: null } : {}),
      };
      res.write(`data: ${JSON.stringify(chunk)}\n\n`);
    };
    emit({ role: 'assistant', content: '', refusal: null });
    if (!(await wait(delayMs, res))) return;
    for (const piece of textPieces(answer.text ?? '')) emit({ content: piece });
    toolCalls.forEach((call, index) => {
      emit({ tool_calls: [{ index, id: call.id, type: 'function', function: { name: call.function.name, arguments: '' } }] });
      for (const piece of argPieces(call.function.arguments)) {
        emit({ tool_calls: [{ index, function: { arguments: piece } }] });
      }
    });
    emit({}, finishReason);
    if (res.destroyed) return;
    // With include_usage the API sends one extra chunk with empty choices carrying the usage.
    if (includeUsage) {
      res.write(`data: ${JSON.stringify({ ...base, object: 'chat.completion.chunk', choices: [], usage: chatUsage(answer.usage) })}\n\n`);
    }
    res.write('data: [DONE]\n\n');
    res.end();
  }

  // ---- Compact -------------------------------------------------------------------------------

  function answerCompact(res: ServerResponse, record: RecordedModelRequest, body: any): void {
    const input: unknown = body.input;
    const kept = userMessages(input);
    const all = typeof input === 'string' ? 1 : Array.isArray(input) ? input.length : 0;
    const compactedItems = all - kept.length;
    const summary = `model-sim summary of ${compactedItems} item(s): ${JSON.stringify(input ?? null).slice(0, 200)}`;
    const encrypted = Buffer.from(JSON.stringify({ summary, compactedItems })).toString('base64');
    const prompt = promptText('compact', body);
    const inputTokens = estimateTokens(prompt);
    const usage: UsageSpec = {
      inputTokens,
      cachedTokens: Math.min(inputTokens, cachedTokens('responses', body.prompt_cache_key ?? undefined, prompt)),
      outputTokens: estimateTokens(summary),
      reasoningTokens: 0,
    };
    sendJson(res, record, 200, {
      id: id('resp_'),
      object: 'response.compaction',
      created_at: now(),
      output: [...kept, { id: id('cmp_'), type: 'compaction', encrypted_content: encrypted }],
      usage: responsesUsage(usage),
    });
  }

  // ---- Dispatch ------------------------------------------------------------------------------

  async function handleModelRequest(
    res: ServerResponse,
    record: RecordedModelRequest,
    endpoint: 'responses' | 'chat',
  ): Promise<void> {
    const body = record.body;
    const prompt = promptText(endpoint, body);
    const inputTokens = estimateTokens(prompt);
    if (contextWindow !== undefined && inputTokens > contextWindow) {
      // Mirrors OpenAI's wording per API; the scripted turn is left for the next request.
      const error =
        endpoint === 'responses'
          ? errorBody(
              'Your input exceeds the context window of this model. Please adjust your input and try again.',
              'invalid_request_error',
              'input',
              'context_length_exceeded',
            )
          : errorBody(
              `This model's maximum context length is ${contextWindow} tokens. However, your messages resulted in ${inputTokens} tokens. Please reduce the length of the messages.`,
              'invalid_request_error',
              'messages',
              'context_length_exceeded',
            );
      sendJson(res, record, 400, error);
      return;
    }

    let turn = nextTurn(record);
    let delayMs = 0;
    while ('delayMs' in turn) {
      delayMs += turn.delayMs;
      turn = turn.then;
    }
    if ('error' in turn) {
      if (!(await wait(delayMs, res))) return;
      sendError(res, record, turn.error);
      return;
    }
    if ('cut' in turn) {
      if (!(await wait(delayMs, res))) return;
      const text = JSON.stringify({ id: id('resp_'), object: 'response', status: 'completed', output: [{ type: 'message', content: [{ type: 'output_text', text: 'x'.repeat(2000) }] }] });
      record.status = 200;
      res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
      res.write(text.slice(0, text.length / 2), () => res.destroy());
      return;
    }

    const cacheKey = typeof body.prompt_cache_key === 'string' ? body.prompt_cache_key : undefined;
    const cached = cachedTokens(endpoint, cacheKey, prompt);
    history.push({ endpoint, cacheKey, prompt });
    const answer = makeAnswer(turn, inputTokens, cached);
    if (endpoint === 'responses') await answerResponses(res, record, body, answer, delayMs);
    else await answerChat(res, record, body, answer, delayMs);
  }

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    res.setHeader('x-request-id', id('req_', 16));
    const method = req.method ?? 'GET';
    const path = new URL(req.url ?? '/', 'http://sim').pathname.replace(/\/+$/, '');
    const endpoint =
      method === 'POST' && path === '/v1/responses'
        ? 'responses'
        : method === 'POST' && path === '/v1/responses/compact'
          ? 'compact'
          : method === 'POST' && path === '/v1/chat/completions'
            ? 'chat'
            : undefined;

    let record: RecordedModelRequest | undefined;
    let parsed = true;
    if (endpoint) {
      const raw = await readBody(req);
      let body: any = raw;
      try {
        body = JSON.parse(raw);
      } catch {
        parsed = false;
      }
      const recorded: RecordedModelRequest = { endpoint, body, headers: lowerHeaders(req), stream: parsed && body?.stream === true };
      record = recorded;
      requests.push(recorded);
      res.once('close', () => {
        if (!res.writableFinished) recorded.aborted = true;
      });
    } else {
      req.resume();
    }

    const auth = req.headers.authorization;
    if (!auth?.startsWith('Bearer ')) {
      sendJson(res, record, 401, errorBody(
        "You didn't provide an API key. You need to provide your API key in an Authorization header using Bearer auth (i.e. Authorization: Bearer YOUR_KEY).",
        'invalid_request_error', null, null));
      return;
    }
    const given = auth.slice('Bearer '.length);
    if (given !== apiKey) {
      sendJson(res, record, 401, errorBody(
        `Incorrect API key provided: ${maskKey(given)}. You can find your API key at https://platform.openai.com/account/api-keys.`,
        'invalid_request_error', null, 'invalid_api_key'));
      return;
    }

    if (record && endpoint) {
      if (!parsed) {
        sendJson(res, record, 400, errorBody(
          'We could not parse the JSON body of your request. (HINT: This likely means you aren\'t using your HTTP library correctly. The OpenAI API expects a JSON payload, but what was sent was not valid JSON.)',
          'invalid_request_error', null, null));
        return;
      }
      if (endpoint === 'compact') answerCompact(res, record, record.body);
      else await handleModelRequest(res, record, endpoint);
      return;
    }

    const model = { id: modelId, object: 'model', created: 1700000000, owned_by: 'model-sim' };
    if (method === 'GET' && path === '/v1/models') {
      sendJson(res, undefined, 200, { object: 'list', data: [model] });
    } else if (method === 'GET' && path === `/v1/models/${modelId}`) {
      sendJson(res, undefined, 200, model);
    } else if (method === 'GET' && path.startsWith('/v1/models/')) {
      const missing = decodeURIComponent(path.slice('/v1/models/'.length));
      sendJson(res, undefined, 404, errorBody(
        `The model '${missing}' does not exist or you do not have access to it.`,
        'invalid_request_error', null, 'model_not_found'));
    } else {
      sendJson(res, undefined, 404, errorBody(`Invalid URL (${method} ${path})`, 'invalid_request_error', null, null));
    }
  }

  const server = createServer((req, res) => {
    handle(req, res).catch((error: unknown) => {
      // A bug in the sim or a throwing ScriptFn: make it visible to the test as a 500.
      const message = `model-sim internal error: ${error instanceof Error ? error.message : String(error)}`;
      if (!res.headersSent) {
        sendJson(res, undefined, 500, errorBody(message, 'server_error', null, null), { 'x-should-retry': 'false' });
      } else {
        res.destroy();
      }
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const { port } = server.address() as AddressInfo;

  return {
    url: `http://127.0.0.1:${port}/v1`,
    apiKey,
    requests,
    script(turns) {
      script = turns;
      consumed = 0;
    },
    remainingTurns() {
      return typeof script === 'function' ? Infinity : Math.max(0, script.length - consumed);
    },
    close() {
      return new Promise<void>((resolve, reject) => {
        server.close((error) => (error ? reject(error) : resolve()));
        // Keep-alive and slow (delayed) connections would otherwise hold close() open; destroying
        // them also wakes pending delays through their 'close' listeners.
        server.closeAllConnections();
      });
    },
  };
}
