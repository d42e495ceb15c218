import crypto from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { runAgent } from '../../src/agent/agent-loop.ts';
import { modelInfo } from '../../src/agent/model-catalog.ts';
import { createModelClient } from '../../src/agent/model-client.ts';
import { defaultTools } from '../../src/agent/tools/index.ts';
import { createLogger } from '../../src/util/logger.ts';
import { REDACTED } from '../../src/util/redact.ts';
import { startModelSim, type ModelSim } from '../support/model-sim.ts';

// The model provider is a third party: what the agent reads is redacted before it is sent,
// even if a secret reached a tool's output or the task prompt some other way.
describe('what the model reads is redacted', () => {
  let model: ModelSim;
  const secret = `whsec-${crypto.randomBytes(12).toString('hex')}`;
  const lookalike = `ghs_${'Z9y8X7w6'.repeat(4)}`;

  beforeAll(async () => {
    model = await startModelSim();
  });

  afterAll(async () => {
    await model?.close();
  });

  it('redacts known secrets and token shapes in the task prompt and in tool outputs', async () => {
    model.script([
      { toolCalls: [{ name: 'run_shell', arguments: { command: 'env', timeout_seconds: null } }] },
      { toolCalls: [{ name: 'finish', arguments: { summary: 'done' } }] },
    ]);
    const outcome = await runAgent({
      client: createModelClient({ apiKey: model.apiKey, baseURL: model.url, maxRetries: 0 }),
      model: 'gpt-sim',
      modelInfo: modelInfo('gpt-sim'),
      instructions: 'test',
      taskPrompt: `Fix it. A user pasted ${lookalike} here.`,
      tools: defaultTools,
      context: {
        root: '/nonexistent',
        runGit: async () => ({ exitCode: 128, output: 'not a repository', timedOut: false, aborted: false, outputExceeded: false, durationMs: 1 }),
        workTreeId: async () => null,
        runShell: async () => ({ exitCode: 0, output: `SECRET=${secret}\nTOKEN=${lookalike}\n`, timedOut: false, aborted: false, outputExceeded: false, durationMs: 1 }),
        testCommand: null,
        signal: new AbortController().signal,
        protectedPaths: [],
      },
      limits: { steps: 5, deadline: Date.now() + 60_000, tokens: 1_000_000, dollars: 100, repeatedFailures: 3, repeatedCalls: 5, stepsWithoutEdit: 150 },
      secrets: new Set([secret]),
      log: createLogger({ level: 'silent' }),
    });
    expect(outcome.status).toBe('finished');
    const sent = JSON.stringify(model.requests.map((r) => r.body));
    expect(sent).not.toContain(secret);
    expect(sent).not.toContain(lookalike);
    expect(sent).toContain(`SECRET=${REDACTED}`);
    expect(sent).toContain(`A user pasted ${REDACTED} here.`);
  });
});
