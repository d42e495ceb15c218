import { afterEach, describe, expect, it } from '@jest/globals';
import { createModelClient, ModelError, type ModelApi, type ModelRequest } from '../../src/agent/model-client.ts';
import { ModelBackoffError, ModelDeadlineError } from '../../src/agent/model-retry.ts';
import { startModelSim, type ModelSim, type ScriptedTurn } from '../support/model-sim.ts';

// The real `openai` client against the model simulator: what a task sees when the provider
// breaks off, hangs or asks it to come back later.

let sim: ModelSim | undefined;
afterEach(async () => {
  await sim?.close();
  sim = undefined;
});

const answer: ScriptedTurn = { toolCalls: [{ name: 'finish', arguments: { summary: 'done' } }] };
const request = (deadline?: number): ModelRequest => ({
  model: 'gpt-sim',
  instructions: 'be brief',
  tools: [{ name: 'finish', description: 'finish', parameters: { type: 'object', properties: { summary: { type: 'string' } }, required: ['summary'], additionalProperties: false } }],
  history: [{ type: 'message', role: 'user', content: 'hello' }],
  deadline,
});

async function clientFor(turns: ScriptedTurn[], api: ModelApi = 'responses') {
  sim = await startModelSim({ turns });
  const retries: string[] = [];
  const client = createModelClient({ apiKey: sim.apiKey, baseURL: sim.url, api, maxRetries: 3, retry: { baseDelayMs: 10, maxDelayMs: 50 }, onRetry: ({ reason }) => retries.push(reason) });
  return { client, sim, retries };
}

describe.each<ModelApi>(['responses', 'chat'])('model requests retried in place (%s API)', (api) => {
  it('a response cut mid-body twice is asked again within the step, and the third answer is used', async () => {
    const { client, sim, retries } = await clientFor([{ cut: true }, { cut: true }, answer], api);
    const turn = await client.complete(request());
    expect(turn.toolCalls.map((call) => call.name)).toEqual(['finish']);
    expect(sim.requests).toHaveLength(3);
    expect(retries).toEqual(["the model's response was cut off before it was complete", "the model's response was cut off before it was complete"]);
  });

  it('responses that keep breaking off end in a sentence, not "terminated"', async () => {
    const { client } = await clientFor([{ cut: true }, { cut: true }, { cut: true }, { cut: true }], api);
    const failure = await client.complete(request()).catch((err: unknown) => err);
    expect(failure).toBeInstanceOf(ModelError);
    expect((failure as Error).message).toBe("the model's response was cut off before it was complete (4 tries)");
  });
});

describe('limits that hold', () => {
  it('a request that never answers ends at the task deadline, and the provider sees it abandoned', async () => {
    const { client, sim } = await clientFor([{ delayMs: 600_000, then: answer }]);
    const failure = await client.complete(request(Date.now() + 1_500)).catch((err: unknown) => err);
    expect(failure).toBeInstanceOf(ModelDeadlineError);
    expect(sim.requests).toHaveLength(1);
    // The simulator notices the dropped connection a moment after the client gives up.
    for (let i = 0; i < 100 && !sim.requests[0]?.aborted; i++) await new Promise((resolve) => setTimeout(resolve, 50));
    expect(sim.requests[0]?.aborted).toBe(true);
  });

  it('no retry waits past the deadline', async () => {
    const { client, sim } = await clientFor([{ error: { status: 503, headers: { 'retry-after': '30' } } }, answer]);
    const failure = await client.complete(request(Date.now() + 5_000)).catch((err: unknown) => err);
    expect(failure).toBeInstanceOf(ModelDeadlineError);
    expect(sim.requests).toHaveLength(1);
  });

  it('a retry-after above a minute parks the task instead of holding the worker', async () => {
    const { client, sim } = await clientFor([{ error: { status: 429, message: 'slow down', headers: { 'retry-after': '120' } } }, answer]);
    const failure = await client.complete(request()).catch((err: unknown) => err);
    expect(failure).toBeInstanceOf(ModelBackoffError);
    expect((failure as ModelBackoffError).retryAfterMs).toBe(120_000);
    expect(sim.requests).toHaveLength(1);
  });

  it('a short retry-after is honoured in place', async () => {
    const { client, sim, retries } = await clientFor([{ error: { status: 429, headers: { 'retry-after-ms': '20' } } }, answer]);
    await client.complete(request());
    expect(sim.requests).toHaveLength(2);
    expect(retries).toHaveLength(1);
  });

  it('an error more waiting cannot fix is not retried', async () => {
    const { client, sim } = await clientFor([{ error: { status: 401, message: 'Incorrect API key provided' } }, answer]);
    const failure = await client.complete(request()).catch((err: unknown) => err);
    expect((failure as ModelError).permanent).toBe(true);
    expect(sim.requests).toHaveLength(1);
  });
});
