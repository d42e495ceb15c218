import { afterEach, describe, expect, it } from '@jest/globals';
import OpenAI from 'openai';
import { decodeCompaction, startModelSim } from '../support/model-sim.ts';
import type { ModelSim, ScriptedTurn } from '../support/model-sim.ts';

const sims: ModelSim[] = [];
async function sim(options: Parameters<typeof startModelSim>[0] = {}): Promise<ModelSim> {
  const started = await startModelSim(options);
  sims.push(started);
  return started;
}
afterEach(async () => {
  await Promise.all(sims.splice(0).map((s) => s.close()));
});

const client = (s: ModelSim, maxRetries = 0) => new OpenAI({ apiKey: s.apiKey, baseURL: s.url, maxRetries });

const tools: OpenAI.Responses.FunctionTool[] = [
  {
    type: 'function',
    name: 'read_file',
    description: 'Read a file',
    parameters: { type: 'object', properties: { path: { type: 'string' } }, required: ['path'] },
    strict: false,
  },
];

describe('model-sim: Responses API', () => {
  it('answers a non-streaming tool-call turn and records the request', async () => {
    const s = await sim({ turns: [{ toolCalls: [{ name: 'read_file', arguments: { path: 'a.ts' }, callId: 'call_1' }], reasoning: true }] });
    const response = await client(s).responses.create({
      model: 'gpt-test',
      instructions: 'be brief',
      input: [{ role: 'user', content: 'read a.ts' }],
      tools,
      include: ['reasoning.encrypted_content'],
    });
    expect(response.object).toBe('response');
    expect(response.id).toMatch(/^resp_/);
    expect(response.status).toBe('completed');
    expect(response.model).toBe('gpt-test');
    expect(response._request_id).toMatch(/^req_/);
    const [reasoning, call] = response.output;
    expect(reasoning).toMatchObject({ type: 'reasoning', summary: [] });
    expect(reasoning).toHaveProperty('encrypted_content');
    expect(call).toMatchObject({ type: 'function_call', call_id: 'call_1', name: 'read_file', status: 'completed' });
    expect(call?.type === 'function_call' && JSON.parse(call.arguments)).toEqual({ path: 'a.ts' });
    expect(response.output_text).toBe('');
    expect(response.usage?.output_tokens_details.reasoning_tokens).toBeGreaterThan(0);
    expect(response.usage?.input_tokens).toBeGreaterThan(0);

    expect(s.requests).toHaveLength(1);
    const [recorded] = s.requests;
    expect(recorded).toMatchObject({ endpoint: 'responses', stream: false, status: 200 });
    expect(recorded?.body.instructions).toBe('be brief');
    expect(recorded?.headers['authorization']).toBe(`Bearer ${s.apiKey}`);
    expect(recorded?.aborted).toBeUndefined();
    expect(s.remainingTurns()).toBe(0);
  });

  it('streams text + tool call so that finalResponse() and create({stream:true}) work', async () => {
    const turn: ScriptedTurn = {
      text: 'Let me look at the file first.',
      toolCalls: [{ name: 'read_file', arguments: { path: 'src/very/long/path/to/file.ts' } }],
    };
    const s = await sim({ turns: [turn, turn] });
    const openai = client(s);

    const stream = openai.responses.stream({ model: 'gpt-test', input: 'hi', tools });
    const deltas: string[] = [];
    stream.on('response.output_text.delta', (e) => deltas.push(e.delta));
    const final = await stream.finalResponse();
    expect(deltas.join('')).toBe('Let me look at the file first.');
    expect(final.output.map((i) => i.type)).toEqual(['message', 'function_call']);
    expect(final.output_text).toBe('Let me look at the file first.');
    const call = final.output[1];
    expect(call?.type === 'function_call' && JSON.parse(call.arguments)).toEqual({ path: 'src/very/long/path/to/file.ts' });
    expect(final.usage?.total_tokens).toBeGreaterThan(0);

    const events = await openai.responses.create({ model: 'gpt-test', input: 'hi', tools, stream: true });
    const types: string[] = [];
    const sequence: number[] = [];
    for await (const event of events) {
      types.push(event.type);
      sequence.push(event.sequence_number);
    }
    expect(types[0]).toBe('response.created');
    expect(types.at(-1)).toBe('response.completed');
    for (const t of [
      'response.in_progress',
      'response.output_item.added',
      'response.content_part.added',
      'response.output_text.delta',
      'response.output_text.done',
      'response.content_part.done',
      'response.function_call_arguments.delta',
      'response.function_call_arguments.done',
      'response.output_item.done',
    ]) {
      expect(types).toContain(t);
    }
    expect(sequence).toEqual(sequence.map((_, i) => i));
    expect(s.requests.every((r) => r.stream)).toBe(true);
  });

  it('reports cached_tokens for a second request sharing a long prefix', async () => {
    const s = await sim({ turns: [{ text: 'one' }, { text: 'two' }, { text: 'three' }] });
    const openai = client(s);
    const instructions = 'You are a careful coding agent. '.repeat(400); // ~3200 tokens
    const first = await openai.responses.create({ model: 'm', instructions, input: 'a', prompt_cache_key: 'k' });
    expect(first.usage?.input_tokens_details.cached_tokens).toBe(0);
    const second = await openai.responses.create({ model: 'm', instructions, input: 'b', prompt_cache_key: 'k' });
    const cached = second.usage?.input_tokens_details.cached_tokens ?? 0;
    expect(cached).toBeGreaterThan(0);
    expect(cached % 128).toBe(0);
    expect(cached).toBeLessThanOrEqual(second.usage?.input_tokens ?? 0);
    // A different cache key does not share the prefix.
    const third = await openai.responses.create({ model: 'm', instructions, input: 'b', prompt_cache_key: 'other' });
    expect(third.usage?.input_tokens_details.cached_tokens).toBe(0);
  });

  it('lets a turn override usage', async () => {
    const s = await sim({ turns: [{ text: 'x', usage: { inputTokens: 5000, cachedTokens: 4096 } }] });
    const r = await client(s).responses.create({ model: 'm', input: 'x' });
    expect(r.usage).toMatchObject({ input_tokens: 5000, input_tokens_details: { cached_tokens: 4096 } });
  });

  it('surfaces a 429 as RateLimitError, and a retrying client gets the next turn', async () => {
    const rateLimited: ScriptedTurn = {
      error: { status: 429, message: 'Rate limit reached', type: 'requests', code: 'rate_limit_exceeded', headers: { 'retry-after': '0' } },
    };
    const s = await sim({ turns: [rateLimited] });
    const error = await client(s).responses.create({ model: 'm', input: 'x' }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(OpenAI.RateLimitError);
    const rateError = error as InstanceType<typeof OpenAI.RateLimitError>;
    expect(rateError.status).toBe(429);
    expect(rateError.code).toBe('rate_limit_exceeded');
    expect(rateError.headers.get('retry-after')).toBe('0');
    expect(rateError.requestID).toMatch(/^req_/);

    s.script([rateLimited, { text: 'after retry' }]);
    const response = await client(s, 1).responses.create({ model: 'm', input: 'x' });
    expect(response.output_text).toBe('after retry');
    expect(s.requests.map((r) => r.status)).toEqual([429, 429, 200]);
  });

  it('answers 400 context_length_exceeded past the context window without consuming the turn', async () => {
    const s = await sim({ contextWindow: 1000, turns: [{ text: 'fits' }] });
    const openai = client(s);
    const error = await openai.responses.create({ model: 'm', input: 'x'.repeat(8000) }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(OpenAI.BadRequestError);
    expect(error).toMatchObject({ status: 400, code: 'context_length_exceeded', param: 'input', type: 'invalid_request_error' });
    const ok = await openai.responses.create({ model: 'm', input: 'short' });
    expect(ok.output_text).toBe('fits');
  });

  it('compacts: keeps user messages and replaces the rest by one compaction item', async () => {
    const s = await sim({ turns: [{ text: 'unused' }] });
    const compacted = await client(s).responses.compact({
      model: 'gpt-test',
      instructions: 'sys',
      input: [
        { role: 'user', content: 'fix the bug' },
        { type: 'function_call', call_id: 'call_9', name: 'read_file', arguments: '{}' },
        { type: 'function_call_output', call_id: 'call_9', output: 'file body' },
        { role: 'assistant', content: 'done' },
        { role: 'user', content: [{ type: 'input_text', text: 'also add a test' }] },
      ],
    });
    expect(compacted.object).toBe('response.compaction');
    expect(compacted.output.map((i) => i.type)).toEqual(['message', 'message', 'compaction']);
    expect(compacted.output[0]).toMatchObject({ role: 'user', content: [{ type: 'input_text', text: 'fix the bug' }] });
    const item = compacted.output[2];
    expect(item?.type).toBe('compaction');
    const decoded = item?.type === 'compaction' ? decodeCompaction(item.encrypted_content) : undefined;
    expect(decoded?.compactedItems).toBe(3);
    expect(compacted.usage.input_tokens).toBeGreaterThan(0);
    expect(s.requests[0]?.endpoint).toBe('compact');
    expect(s.remainingTurns()).toBe(1);
  });

  it('returns 401 AuthenticationError for a wrong key', async () => {
    const s = await sim({ turns: [{ text: 'x' }] });
    const bad = new OpenAI({ apiKey: 'sk-wrong-key-0123456789', baseURL: s.url, maxRetries: 0 });
    const error = await bad.responses.create({ model: 'm', input: 'x' }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(OpenAI.AuthenticationError);
    expect(error).toMatchObject({ status: 401, code: 'invalid_api_key' });
    expect(String((error as Error).message)).not.toContain('sk-wrong-key-0123456789');
    expect(s.requests[0]?.status).toBe(401);
    expect(s.remainingTurns()).toBe(1);
  });

  it('answers 500 "script exhausted" after the last turn', async () => {
    const s = await sim({ turns: [{ text: 'only' }] });
    const openai = client(s, 2); // x-should-retry: false keeps even a retrying client fast
    await openai.responses.create({ model: 'm', input: 'x' });
    const error = await openai.responses.create({ model: 'm', input: 'x' }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(OpenAI.InternalServerError);
    expect((error as Error).message).toContain('script exhausted');
    expect(s.requests).toHaveLength(2);
  });

  it('stops a delayed turn early when the client aborts', async () => {
    const s = await sim({ turns: [{ delayMs: 30_000, then: { text: 'too late' } }, { delayMs: 30_000, then: { text: 'too late' } }] });
    const openai = client(s);
    const started = Date.now();

    const controller = new AbortController();
    setTimeout(() => controller.abort(), 50);
    const error = await openai.responses.create({ model: 'm', input: 'x' }, { signal: controller.signal }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(OpenAI.APIUserAbortError);

    // Streaming: headers and response.created arrive at once, then the turn stalls.
    const streamController = new AbortController();
    const stream = openai.responses.stream({ model: 'm', input: 'x' }, { signal: streamController.signal });
    stream.on('response.created', () => streamController.abort());
    await expect(stream.finalResponse()).rejects.toBeInstanceOf(OpenAI.APIUserAbortError);

    for (let i = 0; i < 100 && !s.requests.every((r) => r.aborted); i++) await new Promise((r) => setTimeout(r, 10));
    expect(s.requests.map((r) => r.aborted)).toEqual([true, true]);
    expect(Date.now() - started).toBeLessThan(3000);
  });

  it('lets a script function pick turns from the request', async () => {
    const s = await sim();
    s.script((request, index) => ({ text: `#${index} ${request.body.input}` }));
    const openai = client(s);
    expect((await openai.responses.create({ model: 'm', input: 'a' })).output_text).toBe('#0 a');
    expect((await openai.responses.create({ model: 'm', input: 'b' })).output_text).toBe('#1 b');
  });
});

describe('model-sim: Chat Completions', () => {
  const chatTools: OpenAI.Chat.ChatCompletionTool[] = [
    { type: 'function', function: { name: 'read_file', parameters: { type: 'object', properties: { path: { type: 'string' } } } } },
  ];

  it('answers non-streaming tool calls and text', async () => {
    const s = await sim({ turns: [{ toolCalls: [{ name: 'read_file', arguments: { path: 'x' }, callId: 'call_a' }] }, { text: 'hello' }] });
    const openai = client(s);
    const first = await openai.chat.completions.create({ model: 'm', messages: [{ role: 'user', content: 'hi' }], tools: chatTools });
    expect(first.object).toBe('chat.completion');
    expect(first.choices[0]?.finish_reason).toBe('tool_calls');
    expect(first.choices[0]?.message.tool_calls).toEqual([
      { id: 'call_a', type: 'function', function: { name: 'read_file', arguments: '{"path":"x"}' } },
    ]);
    expect(first.usage?.prompt_tokens_details?.cached_tokens).toBe(0);
    const second = await openai.chat.completions.create({ model: 'm', messages: [{ role: 'user', content: 'hi' }] });
    expect(second.choices[0]?.message.content).toBe('hello');
    expect(second.choices[0]?.finish_reason).toBe('stop');
    expect(s.requests.map((r) => r.endpoint)).toEqual(['chat', 'chat']);
  });

  it('streams chunks ending with [DONE], with usage when asked', async () => {
    const turn: ScriptedTurn = { text: 'Reading it now.', toolCalls: [{ name: 'read_file', arguments: { path: 'some/long/path.ts' } }] };
    const s = await sim({ turns: [turn, turn] });
    const openai = client(s);

    const chunks = await openai.chat.completions.create({
      model: 'm',
      messages: [{ role: 'user', content: 'hi' }],
      tools: chatTools,
      stream: true,
      stream_options: { include_usage: true },
    });
    let content = '';
    let args = '';
    let usage: OpenAI.CompletionUsage | null | undefined;
    for await (const chunk of chunks) {
      content += chunk.choices[0]?.delta.content ?? '';
      args += chunk.choices[0]?.delta.tool_calls?.[0]?.function?.arguments ?? '';
      if (chunk.usage) usage = chunk.usage;
    }
    expect(content).toBe('Reading it now.');
    expect(JSON.parse(args)).toEqual({ path: 'some/long/path.ts' });
    expect(usage?.total_tokens).toBeGreaterThan(0);

    const helper = openai.chat.completions.stream({ model: 'm', messages: [{ role: 'user', content: 'hi' }], tools: chatTools });
    const final = await helper.finalChatCompletion();
    expect(final.choices[0]?.message.content).toBe('Reading it now.');
    expect(final.choices[0]?.message.tool_calls?.[0]).toMatchObject({ type: 'function', function: { name: 'read_file' } });
    expect(final.choices[0]?.finish_reason).toBe('tool_calls');
  });
});

describe('model-sim: misc', () => {
  it('lists one model', async () => {
    const s = await sim();
    const models = await client(s).models.list();
    expect(models.data.map((m) => m.id)).toEqual(['gpt-sim']);
  });
});
