import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { createModelClient, ModelError, type ModelRequest } from '../../src/agent/model-client.ts';
import { nameEndpointInErrors } from '../../src/agent/model-endpoint.ts';
import { freePort } from '../support/app-process.ts';
import { startModelSim, type ModelSim } from '../support/model-sim.ts';

const request: ModelRequest = { model: 'gpt-5-codex', instructions: 'fix it', tools: [], history: [{ type: 'message', role: 'user', content: 'add() subtracts' }] };

async function failureOf(promise: Promise<unknown>): Promise<ModelError> {
  const err = await promise.then(() => undefined, (e: unknown) => e);
  expect(err).toBeInstanceOf(ModelError);
  return err as ModelError;
}

describe('a model endpoint that refuses: one line naming the endpoint, the status and the setting to fix', () => {
  let sim: ModelSim;
  beforeAll(async () => {
    sim = await startModelSim();
  });
  afterAll(async () => {
    await sim?.close();
  });

  const client = (apiKey: string, baseUrl: string) => nameEndpointInErrors(createModelClient({ apiKey, baseURL: baseUrl, maxRetries: 0 }), baseUrl);

  it('401: OPENAI_API_KEY', async () => {
    const err = await failureOf(client('sk-wrong', sim.url).complete(request));
    expect(err.message).toMatch(new RegExp(`^model API at ${sim.url} answered 401 .*: check OPENAI_API_KEY \\(a key this endpoint accepts\\)$`));
    expect(err.permanent).toBe(true);
  });

  it('404: AI_FIX_MODEL and OPENAI_BASE_URL', async () => {
    const wrong = `${new URL(sim.url).origin}/not-the-api`;
    const err = await failureOf(client(sim.apiKey, wrong).complete(request));
    expect(err.message).toMatch(new RegExp(`^model API at ${wrong} answered 404 .*: check AI_FIX_MODEL and OPENAI_BASE_URL \\(it usually ends in /v1\\)`));
    expect(err.message).not.toContain('\n');
    expect(err.permanent).toBe(true);
  });

  it('nobody listening: OPENAI_BASE_URL, with the address that refused', async () => {
    const nobody = `http://127.0.0.1:${await freePort()}/v1`;
    const err = await failureOf(client('sk-test', nobody).complete(request));
    expect(err.message).toMatch(new RegExp(`^model API at ${nobody} unreachable \\(ECONNREFUSED 127\\.0\\.0\\.1:\\d+\\): check OPENAI_BASE_URL$`));
    const unnamed = await failureOf(nameEndpointInErrors(createModelClient({ apiKey: 'sk-test', baseURL: nobody, maxRetries: 0 }), undefined).complete(request));
    expect(unnamed.message).toMatch(/^model API \(the default endpoint: OPENAI_BASE_URL is unset\) unreachable/);
  });
});
