import fs from 'node:fs/promises';
import { createServer } from 'node:http';
import path from 'node:path';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from '@jest/globals';
import { runAgent, type AgentLimits, type AgentRun } from '../../src/agent/agent-loop.ts';
import { HANDOFF_HEADER } from '../../src/agent/compaction.ts';
import { responseCost } from '../../src/agent/cost.ts';
import { modelInfo } from '../../src/agent/model-catalog.ts';
import { createModelClient, type ModelApi } from '../../src/agent/model-client.ts';
import { AGENT_INSTRUCTIONS } from '../../src/agent/prompts.ts';
import { defaultTools } from '../../src/agent/tools/index.ts';
import { createLogger } from '../../src/util/logger.ts';
import { buggyCalculator } from '../fixtures/buggy-calculator.ts';
import { createLocalRepo, type LocalRepo } from '../support/local-repo.ts';
import { estimateTokens, startModelSim, type ModelSim, type ModelSimOptions, type RecordedModelRequest, type ScriptedTurn } from '../support/model-sim.ts';
import { fixingCalculatorTurns, isHandoffRequest, stepOf, largeModule, longSessionScript, neverGreenTurns } from '../support/scripted-agents.ts';

const log = createLogger({ level: 'silent' });
const BIG_FILES = ['src/alpha.ts', 'src/beta.ts', 'src/gamma.ts'];
const generous = (): AgentLimits => ({
  steps: 500,
  deadline: Date.now() + 3_600_000,
  tokens: 100_000_000,
  repeatedFailures: 1000,
  repeatedCalls: 1000,
  stepsWithoutEdit: 1000,
});

let sim: ModelSim | undefined;
let repo: LocalRepo | undefined;
afterEach(async () => {
  await sim?.close();
  await repo?.remove();
  sim = undefined;
  repo = undefined;
});

async function setUp(simOptions: ModelSimOptions = {}): Promise<{ sim: ModelSim; repo: LocalRepo }> {
  sim = await startModelSim(simOptions);
  repo = await createLocalRepo({ ...buggyCalculator, ...Object.fromEntries(BIG_FILES.map((file, i) => [file, largeModule(i)])) });
  return { sim, repo };
}

function agentRun(s: ModelSim, r: LocalRepo, overrides: Partial<AgentRun> & { api?: ModelApi } = {}): AgentRun {
  const { api, ...rest } = overrides;
  return {
    client: createModelClient({ apiKey: s.apiKey, baseURL: s.url, api, maxRetries: 3 }),
    model: 'gpt-5-codex',
    modelInfo: modelInfo('gpt-5-codex'),
    instructions: AGENT_INSTRUCTIONS,
    taskPrompt: 'Fix add() in calc.js: it subtracts. Test command: `node test.js`.',
    tools: defaultTools,
    context: r.workspace('node test.js'),
    limits: generous(),
    promptCacheKey: 'task-1',
    log,
    ...rest,
  };
}

/** The prompt part of a request, serialised in prompt order (what a prefix cache sees). */
function prompt(request: RecordedModelRequest): { fixed: string; items: unknown[] } {
  if (request.endpoint === 'chat') return { fixed: JSON.stringify(request.body.tools), items: request.body.messages };
  return { fixed: JSON.stringify([request.body.instructions, request.body.tools]), items: request.body.input };
}

/** For each request after the first: does its history extend the previous request's byte for byte? */
function extensions(requests: RecordedModelRequest[]): boolean[] {
  return requests.slice(1).map((request, i) => {
    const previous = prompt(requests[i]!);
    const current = prompt(request);
    const before = JSON.stringify(previous.items);
    const after = JSON.stringify(current.items);
    return current.fixed === previous.fixed && after.length > before.length && after.startsWith(before.slice(0, -1));
  });
}

const promptTokens = (request: RecordedModelRequest) =>
  estimateTokens(
    request.endpoint === 'chat'
      ? JSON.stringify({ tools: request.body.tools, messages: request.body.messages })
      : JSON.stringify({ instructions: request.body.instructions, tools: request.body.tools, input: request.body.input }),
  );

describe('prompt economy', () => {
  it('sends each request as a byte-identical extension of the previous one, under one cache key', async () => {
    const { sim, repo } = await setUp({ turns: fixingCalculatorTurns() });
    const outcome = await runAgent(agentRun(sim, repo, { taskPrompt: 'Fix add() in calc.js.' }));

    expect(outcome).toMatchObject({ status: 'finished', testsPassed: true, steps: 5, compactions: 0 });
    expect(sim.requests.map((r) => r.endpoint)).toEqual(['responses', 'responses', 'responses', 'responses', 'responses']);
    expect(extensions(sim.requests)).toEqual([true, true, true, true]);
    expect(new Set(sim.requests.map((r) => r.body.prompt_cache_key))).toEqual(new Set(['task-1']));
    // The instructions and tool schemas alone pass the provider's 1,024-token caching minimum.
    expect(outcome.usage.cached).toBeGreaterThan(0);
    expect(outcome.dollars).toBeCloseTo(responseCost(outcome.usage, modelInfo('gpt-5-codex').pricing!), 10);
  });
});

describe('compaction', () => {
  const window = 24_000;

  it('compacts natively when the context nears the window, stays under it and still finishes', async () => {
    const { sim, repo } = await setUp({ contextWindow: window, turns: longSessionScript({ steps: 40, files: BIG_FILES }) });
    const outcome = await runAgent(agentRun(sim, repo, { modelInfo: { ...modelInfo('gpt-5-codex'), contextWindow: window } }));

    expect(outcome).toMatchObject({ status: 'finished', testsPassed: true });
    expect(outcome.compactions).toBeGreaterThanOrEqual(2);
    const compacts = sim.requests.filter((r) => r.endpoint === 'compact');
    expect(compacts).toHaveLength(outcome.compactions);
    expect(sim.requests.filter((r) => r.status !== 200)).toEqual([]);
    const turns = sim.requests.filter((r) => r.endpoint === 'responses');
    expect(Math.max(...turns.map(promptTokens))).toBeLessThanOrEqual(window);
    // Each compaction's output is what the next request starts from.
    for (const compact of compacts) {
      const next = sim.requests[sim.requests.indexOf(compact) + 1]!;
      expect(next.body.input.map((item: { type?: string }) => item.type)).toContain('compaction');
    }
    // Between compactions the prefix still extends.
    expect(extensions(turns).filter((extended) => !extended)).toHaveLength(outcome.compactions);
  });

  it('compacts by a model-written hand-off note where the API has no compaction (Chat Completions)', async () => {
    const { sim, repo } = await setUp({ contextWindow: window, turns: longSessionScript({ steps: 40, files: BIG_FILES }) });
    const outcome = await runAgent(agentRun(sim, repo, { api: 'chat', modelInfo: { contextWindow: window, images: false } }));

    expect(outcome).toMatchObject({ status: 'finished', testsPassed: true, dollars: null });
    expect(outcome.compactions).toBeGreaterThanOrEqual(2);
    expect(sim.requests.every((r) => r.endpoint === 'chat' && r.status === 200)).toBe(true);
    expect(Math.max(...sim.requests.map(promptTokens))).toBeLessThanOrEqual(window);
    const handoffs = sim.requests.filter(isHandoffRequest);
    expect(handoffs).toHaveLength(outcome.compactions);
    for (const handoff of handoffs) {
      expect(handoff.body.tool_choice).toBe('none');
      const next = sim.requests[sim.requests.indexOf(handoff) + 1]!;
      const [system, task, note, ...rest] = next.body.messages;
      expect(system).toEqual({ role: 'system', content: AGENT_INSTRUCTIONS });
      expect(task.content).toContain('Fix add() in calc.js');
      expect(note.content).toMatch(new RegExp(`^${HANDOFF_HEADER}\\n\\nHand-off note after step \\d+`));
      expect(rest.length).toBeLessThanOrEqual(2);
    }
  });

  it('falls back to hand-off notes when the endpoint has no /responses/compact', async () => {
    const { sim, repo } = await setUp({ contextWindow: window, turns: longSessionScript({ steps: 40, files: BIG_FILES }) });
    // An OpenAI-compatible server without the compaction endpoint: everything else reaches the simulator.
    let refused = 0;
    const front = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (chunk: Buffer) => chunks.push(chunk));
      const forward = async () => {
        if (req.url?.endsWith('/responses/compact')) {
          refused++;
          res.writeHead(404, { 'content-type': 'application/json' });
          res.end(JSON.stringify({ error: { message: `Invalid URL (POST ${req.url})`, type: 'invalid_request_error', param: null, code: null } }));
          return;
        }
        const upstream = await fetch(new URL(req.url ?? '/', sim.url), {
          method: req.method,
          headers: { authorization: req.headers.authorization ?? '', 'content-type': 'application/json' },
          body: Buffer.concat(chunks),
        });
        res.writeHead(upstream.status, { 'content-type': upstream.headers.get('content-type') ?? 'application/json' });
        res.end(Buffer.from(await upstream.arrayBuffer()));
      };
      req.on('end', () => void forward().catch((err: Error) => res.destroy(err)));
    });
    await new Promise<void>((resolve) => front.listen(0, '127.0.0.1', resolve));
    try {
      const baseURL = `http://127.0.0.1:${(front.address() as AddressInfo).port}/v1`;
      const outcome = await runAgent(
        agentRun(sim, repo, {
          client: createModelClient({ apiKey: sim.apiKey, baseURL, maxRetries: 0 }),
          modelInfo: { ...modelInfo('gpt-5-codex'), contextWindow: window },
        }),
      );
      expect(outcome).toMatchObject({ status: 'finished', testsPassed: true });
      expect(outcome.compactions).toBeGreaterThanOrEqual(2);
      // Tried once, then hand-off notes for this compaction and every later one.
      expect(refused).toBe(1);
      expect(sim.requests.filter(isHandoffRequest)).toHaveLength(outcome.compactions);
      expect(Math.max(...sim.requests.map(promptTokens))).toBeLessThanOrEqual(window);
    } finally {
      front.closeAllConnections();
      await new Promise((resolve) => front.close(resolve));
    }
  });

  it('compacts and retries when the provider reports context_length_exceeded', async () => {
    const { sim, repo } = await setUp({ contextWindow: 12_000, turns: longSessionScript({ steps: 12, files: BIG_FILES }) });
    // No known window: only the provider's error can trigger compaction.
    const outcome = await runAgent(agentRun(sim, repo, { modelInfo: { images: false } }));

    expect(outcome).toMatchObject({ status: 'finished', testsPassed: true });
    expect(outcome.compactions).toBeGreaterThanOrEqual(1);
    const overflow = sim.requests.findIndex((r) => r.status === 400);
    expect(overflow).toBeGreaterThan(0);
    expect(sim.requests[overflow]!.endpoint).toBe('responses');
    expect(sim.requests[overflow + 1]!.endpoint).toBe('compact');
    expect(sim.requests[overflow + 2]).toMatchObject({ endpoint: 'responses', status: 200 });
  });
});

describe('context bounds', () => {
  it('shares one turn\'s output budget among parallel calls, so they cannot overflow the window together', async () => {
    const read = (path: string, start: number) => ({ name: 'read_file', arguments: { path, start_line: start, end_line: start + 399 } });
    const { sim, repo } = await setUp({
      contextWindow: 12_000,
      turns: [
        { toolCalls: [read('src/alpha.ts', 1), read('src/beta.ts', 1), read('src/gamma.ts', 1), read('src/alpha.ts', 1), read('src/beta.ts', 1), read('src/gamma.ts', 1)] },
        ...fixingCalculatorTurns().slice(1),
      ],
    });
    const outcome = await runAgent(agentRun(sim, repo, { modelInfo: { images: false, contextWindow: 12_000 } }));

    expect(outcome).toMatchObject({ status: 'finished', testsPassed: true });
    expect(sim.requests.every((r) => r.status === 200)).toBe(true);
    const outputs = sim.requests[1]!.body.input.filter((item: { type: string }) => item.type === 'function_call_output');
    expect(outputs).toHaveLength(6);
    for (const { output } of outputs) {
      expect(output).toContain('characters omitted');
      expect(output.length).toBeLessThanOrEqual(12_000 * 4 * 0.2 / 6 + 100);
    }
  });

  it('does not compact a history with nothing new to compact, however large the task', async () => {
    const { sim, repo } = await setUp({ turns: fixingCalculatorTurns() });
    const outcome = await runAgent(agentRun(sim, repo, { taskPrompt: `Fix add() in calc.js.\n${'context '.repeat(2_000)}`, modelInfo: { images: false, contextWindow: 4_000 } }));

    expect(outcome).toMatchObject({ status: 'finished', testsPassed: true });
    const endpoints = sim.requests.map((r) => r.endpoint);
    expect(endpoints[0]).toBe('responses');
    // Every compaction has new steps to work on: never two in a row.
    expect(endpoints.join(' ')).not.toContain('compact compact');
    expect(outcome.compactions).toBeGreaterThan(0);
  });
});

describe('limits', () => {
  it('stops at the dollar limit and says which limit', async () => {
    const { sim, repo } = await setUp({ turns: neverGreenTurns(20) });
    const pricey = { images: false, pricing: { input: 100, cachedInput: 100, output: 100 } };
    const outcome = await runAgent(agentRun(sim, repo, { modelInfo: pricey, limits: { ...generous(), dollars: 0.5 } }));

    expect(outcome.status).toBe('limit');
    expect(outcome.reason).toMatch(/^cost limit reached \(\$0\.\d{3} of \$0\.500\)$/);
    expect(outcome.dollars).toBeGreaterThanOrEqual(0.5);
    expect(outcome.steps).toBeLessThan(5);
    expect(sim.requests).toHaveLength(outcome.steps);
  });

  it('stops at the step, token and time limits', async () => {
    const { sim, repo } = await setUp();
    sim.script(neverGreenTurns(20));
    expect(await runAgent(agentRun(sim, repo, { limits: { ...generous(), steps: 2 } }))).toMatchObject({ status: 'limit', steps: 2, reason: 'step limit reached (2 steps)' });
    sim.script(neverGreenTurns(20));
    const tokens = await runAgent(agentRun(sim, repo, { limits: { ...generous(), tokens: 5_000 } }));
    expect(tokens).toMatchObject({ status: 'limit' });
    expect(tokens.reason).toMatch(/^token limit reached \([\d,]+ of 5,000 tokens\)$/);
    sim.script(neverGreenTurns(20));
    expect(await runAgent(agentRun(sim, repo, { limits: { ...generous(), deadline: Date.now() - 1 } }))).toMatchObject({ status: 'limit', steps: 0, reason: 'time limit reached' });
  });
});

describe('knowing when to stop', () => {
  it('stops when the tests fail the same way three times in a row', async () => {
    const { sim, repo } = await setUp({ turns: neverGreenTurns(20) });
    const outcome = await runAgent(agentRun(sim, repo, { limits: { ...generous(), repeatedFailures: 3 } }));
    expect(outcome).toMatchObject({ status: 'stalled', steps: 4, testsPassed: false, reason: 'no progress: the tests failed the same way 3 times in a row' });
  });

  it('does not mistake changing failures for no progress', async () => {
    const edit = (from: string, to: string): ScriptedTurn => ({ toolCalls: [{ name: 'edit_file', arguments: { path: 'calc.js', old_string: from, new_string: to } }] });
    const test: ScriptedTurn = { toolCalls: [{ name: 'run_tests', arguments: {} }] };
    const { sim, repo } = await setUp({
      turns: [
        test,
        edit('a - b', 'a * b'),
        test,
        edit('a * b', 'a / b'),
        test,
        edit('a / b', 'a + b'),
        { toolCalls: [{ name: 'finish', arguments: { summary: 'Fixed.' } }] },
      ],
    });
    const outcome = await runAgent(agentRun(sim, repo, { limits: { ...generous(), repeatedFailures: 2 } }));
    expect(outcome).toMatchObject({ status: 'finished', testsPassed: true });
  });

  it('stops after steps that change no file, counting commands that change nothing', async () => {
    const read: ScriptedTurn = { toolCalls: [{ name: 'read_file', arguments: { path: 'calc.js', start_line: null, end_line: null } }] };
    const look: ScriptedTurn = { toolCalls: [{ name: 'run_shell', arguments: { command: 'ls && git status', timeout_seconds: null } }] };
    const write: ScriptedTurn = { toolCalls: [{ name: 'run_shell', arguments: { command: 'echo note >> NOTES.md', timeout_seconds: null } }] };
    const { sim, repo } = await setUp({ turns: [read, look, read, write, read, look, read, look, read, look] });
    const outcome = await runAgent(agentRun(sim, repo, { limits: { ...generous(), stepsWithoutEdit: 4 } }));
    expect(outcome).toMatchObject({ status: 'stalled', steps: 8, edited: true, reason: expect.stringMatching(/^no progress: 4 steps in a row changed no file/) });
  });

  it('tells a looping model that its call repeats with an unchanged output, then stops it', async () => {
    const look: ScriptedTurn = { toolCalls: [{ name: 'run_shell', arguments: { command: 'ls', timeout_seconds: null } }] };
    const { sim, repo } = await setUp({ turns: Array.from({ length: 10 }, () => look) });
    const outcome = await runAgent(agentRun(sim, repo, { limits: { ...generous(), repeatedCalls: 3 } }));
    expect(outcome).toMatchObject({ status: 'stalled', steps: 4, reason: 'no progress: 3 tool calls in a row repeated earlier ones with unchanged output (last: `run_shell ls`; limit: `limits.repeated_calls`)' });
    const outputs = (request: RecordedModelRequest) => (request.body.input as Array<{ type: string; output?: string }>).filter((item) => item.type === 'function_call_output').map((item) => item.output!);
    expect(outputs(sim.requests[1]!)[0]).not.toContain('[ai-fix]');
    expect(outputs(sim.requests[2]!)[1]).toMatch(/calc\.js[\s\S]*\n\n\[ai-fix\] You ran this already; the output is unchanged\./);
  });

  it('reports each plan the model keeps', async () => {
    const plan = [
      { step: 'Fix add()', status: 'in_progress' },
      { step: 'Run the tests', status: 'pending' },
    ];
    const [test, read, edit, ...rest] = fixingCalculatorTurns();
    const { sim, repo } = await setUp({ turns: [{ toolCalls: [{ name: 'update_plan', arguments: { plan, explanation: null } }] }, test!, read!, edit!, ...rest] });
    const plans: unknown[] = [];
    const outcome = await runAgent(agentRun(sim, repo, { onPlan: (p) => void plans.push(p) }));
    expect(outcome).toMatchObject({ status: 'finished', testsPassed: true });
    expect(plans).toEqual([plan]);
  });
});

describe('model API resilience', () => {
  it('retries 429 and 5xx answers, honouring retry-after, and carries on', async () => {
    const { sim, repo } = await setUp({
      turns: [
        { error: { status: 429, code: 'rate_limit_exceeded', type: 'requests', headers: { 'retry-after': '0.01' } } },
        { error: { status: 503, type: 'server_error', headers: { 'retry-after-ms': '10' } } },
        ...fixingCalculatorTurns(),
      ],
    });
    const outcome = await runAgent(agentRun(sim, repo));
    expect(outcome).toMatchObject({ status: 'finished', testsPassed: true, steps: 5 });
    // Retried in place by ai-fix (not the SDK), within the same step.
    expect(sim.requests.slice(0, 3).map((r) => [r.status, stepOf(r)])).toEqual([
      [429, 0],
      [503, 0],
      [200, 0],
    ]);
  });
});

describe('Chat Completions adapter', () => {
  it('runs the same loop over /chat/completions, with tool calls and results paired', async () => {
    const { sim, repo } = await setUp({ turns: fixingCalculatorTurns() });
    const outcome = await runAgent(agentRun(sim, repo, { api: 'chat' }));

    expect(outcome).toMatchObject({ status: 'finished', testsPassed: true, steps: 5, summary: 'Fixed `add` in `calc.js`: it subtracted its arguments.' });
    expect(sim.requests.every((r) => r.endpoint === 'chat')).toBe(true);
    expect(extensions(sim.requests)).toEqual([true, true, true, true]);
    const last = sim.requests.at(-1)!.body;
    expect(last.messages[0]).toEqual({ role: 'system', content: AGENT_INSTRUCTIONS });
    const call = last.messages.find((m: { tool_calls?: unknown[] }) => m.tool_calls);
    const result = last.messages[last.messages.indexOf(call) + 1];
    expect(result).toMatchObject({ role: 'tool', tool_call_id: call.tool_calls[0].id });
    expect(last.tools.map((t: { function: { name: string } }) => t.function.name)).toEqual(defaultTools.map((t) => t.name));
  });
});

describe('a resumed run counts what earlier runs spent', () => {
  const spentSoFar = (dollars: number, steps = 3) => ({ steps, usage: { input: 900_000, cached: 0, output: 50_000, reasoning: 0 }, dollars });

  it('a task whose earlier runs reached the dollar cap asks the model nothing more', async () => {
    const { sim, repo } = await setUp({ turns: fixingCalculatorTurns() });
    const outcome = await runAgent(agentRun(sim, repo, { limits: { ...generous(), dollars: 1 }, resume: { spent: spentSoFar(1.2) } }));
    expect(outcome.status).toBe('limit');
    expect(outcome.reason).toMatch(/cost limit reached/);
    expect(outcome.dollars).toBeCloseTo(1.2);
    expect(sim.requests).toHaveLength(0);
  });

  it('steps go on from the earlier runs, and a step cap counts them', async () => {
    const { sim, repo } = await setUp({ turns: fixingCalculatorTurns() });
    const outcome = await runAgent(agentRun(sim, repo, { limits: { ...generous(), steps: 5 }, resume: { spent: spentSoFar(0, 3) } }));
    expect(outcome).toMatchObject({ status: 'limit', steps: 5 });
    expect(sim.requests).toHaveLength(2);
  });

  it('a saved conversation is continued where it stopped, with a note on what was lost', async () => {
    const { sim, repo } = await setUp({ turns: fixingCalculatorTurns().slice(3) });
    const calc = path.join(repo.dir, 'calc.js');
    await fs.writeFile(calc, (await fs.readFile(calc, 'utf8')).replace('return a - b;', 'return a + b;'));
    const history = [
      { type: 'message' as const, role: 'user' as const, content: 'Fix add() in calc.js.' },
      { type: 'function_call' as const, callId: 'c1', name: 'edit_file', arguments: '{}' },
      { type: 'function_call_output' as const, callId: 'c1', output: 'Edited calc.js.' },
    ];
    const snapshots: number[] = [];
    const outcome = await runAgent(agentRun(sim, repo, {
      resume: { snapshot: { history, step: 3, compactions: 0, edited: true, testsPassed: false }, spent: spentSoFar(0, 4) },
      checkpointEvery: 1,
      onCheckpoint: async (snapshot, due) => {
        if (due) snapshots.push(snapshot.step);
      },
    }));
    expect(outcome).toMatchObject({ status: 'finished', testsPassed: true, steps: 6, edited: true });
    const first = JSON.stringify(sim.requests[0]!.body.input);
    expect(first).toContain('Edited calc.js.');
    expect(first).toContain('Steps 4–4 were lost');
    expect(snapshots).toEqual([5]);
  });
});
