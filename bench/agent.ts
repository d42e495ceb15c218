// Part "agent": a long scripted session (large tool outputs) through the model simulator, once
// the way ai-fix runs it (stable prefix, compaction near the window) and once replayed naively
// (the full history resent every turn, never compacted), measuring tokens, the cacheable share,
// compactions, and the harness's own time per step.
import fs from 'node:fs/promises';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { runAgent } from '../src/agent/agent-loop.ts';
import { responseCost } from '../src/agent/cost.ts';
import { modelInfo } from '../src/agent/model-catalog.ts';
import { createModelClient, type ModelApi } from '../src/agent/model-client.ts';
import { AGENT_INSTRUCTIONS, renderTaskPrompt } from '../src/agent/prompts.ts';
import { repositoryMap } from '../src/agent/repository-context.ts';
import { defaultTools } from '../src/agent/tools/index.ts';
import type { AgentTool } from '../src/agent/tools/tool.ts';
import type { AgentSnapshot, TaskSpent } from '../src/agent/agent-snapshot.ts';
import { createLogger } from '../src/util/logger.ts';
import { buggyCalculator } from '../test/fixtures/buggy-calculator.ts';
import { createLocalRepo } from '../test/support/local-repo.ts';
import { estimateTokens, promptText, startModelSim } from '../test/support/model-sim.ts';
import { largeModule, longSessionScript } from '../test/support/scripted-agents.ts';
import { writeBenchmarkSection } from './benchmarks-doc.ts';
import { describeMachine } from './machine.ts';
import { round, summarize, type Summary } from './stats.ts';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const MODEL = 'gpt-5-codex';
const FILES = Array.from({ length: 8 }, (_, i) => `src/module-${i}.ts`);

interface Timing {
  /** Per step: wall time minus the model's HTTP round trips minus the sandboxed commands. */
  harnessMs: number[];
  /** Per step: the same, also minus the tools' own work (file reads, git grep, git status). */
  loopMs: number[];
  modelMs: number;
  toolMs: number;
  commandMs: number;
  wallMs: number;
}

interface SessionFigures {
  status: string;
  steps: number;
  modelRequests: number;
  compactions: number;
  inputTokens: number;
  cacheablePrefixTokens: number;
  cacheableShare: number;
  providerCachedTokens: number;
  outputTokens: number;
  dollars: number;
  maxRequestTokens: number;
  contextOverflows: number;
  timing: Timing;
}

function commonPrefixLength(a: string, b: string): number {
  const n = Math.min(a.length, b.length);
  let i = 0;
  while (i < n && a.charCodeAt(i) === b.charCodeAt(i)) i++;
  return i;
}

/**
 * One scripted session. With `crashAt`, the run stops dead after that step (as a killed worker
 * does) and a second run resumes from the last checkpoint the first one saved, as a retried job.
 */
async function session(steps: number, window: number | undefined, api: ModelApi = 'responses', crashAt?: number): Promise<SessionFigures> {
  const sim = await startModelSim({ contextWindow: window, turns: longSessionScript({ steps, files: FILES }) });
  const repo = await createLocalRepo({ ...buggyCalculator, ...Object.fromEntries(FILES.map((file, i) => [file, largeModule(i)])) });
  const clock = { model: 0, tool: 0, command: 0 };
  try {
    // Model time is the HTTP round trip alone (body read included); building the request and
    // parsing the answer stay on the harness's side of the ledger.
    const timedFetch: typeof fetch = async (input, init) => {
      const started = performance.now();
      const response = await fetch(input, init);
      const body = await response.arrayBuffer();
      clock.model += performance.now() - started;
      return new Response(body, { status: response.status, statusText: response.statusText, headers: response.headers });
    };
    const workspace = repo.workspace('node test.js');
    const runShell: typeof workspace.runShell = async (command, timeoutMs) => {
      const started = performance.now();
      try {
        return await workspace.runShell(command, timeoutMs);
      } finally {
        clock.command += performance.now() - started;
      }
    };
    const tools: AgentTool[] = defaultTools.map((tool) => ({
      ...tool,
      run: async (args, context) => {
        const started = performance.now();
        try {
          return await tool.run(args, context);
        } finally {
          clock.tool += performance.now() - started;
        }
      },
    }));
    const marks: Array<{ at: number; model: number; tool: number; command: number }> = [];
    const mark = () => marks.push({ at: performance.now(), ...clock });
    const info = { ...modelInfo(MODEL), contextWindow: window };
    const taskPrompt = renderTaskPrompt({
      issue: {
        repoFullName: 'acme/calculator',
        issueNumber: 42,
        title: 'add() subtracts instead of adding',
        body: 'Calling `add(2, 3)` returns `-1`; it should return `5`. The modules under src/ may use add() too.',
        comments: [],
      },
      repoInstructions: [],
      testCommand: 'node test.js',
      repositoryMap: repositoryMap(repo.git('ls-files').split('\n').filter(Boolean)),
    });

    const crash = new AbortController();
    let checkpoint: AgentSnapshot | undefined;
    let spent: TaskSpent | undefined;
    const run = (resume?: { snapshot?: AgentSnapshot; spent: TaskSpent }) =>
      runAgent({
        client: createModelClient({ apiKey: sim.apiKey, baseURL: sim.url, api, fetch: timedFetch }),
        model: MODEL,
        modelInfo: info,
        instructions: AGENT_INSTRUCTIONS,
        taskPrompt,
        tools,
        context: { ...workspace, runShell, signal: resume ? new AbortController().signal : crash.signal },
        // The scripted session runs the same failing tests on purpose; only the window matters here.
        limits: { steps: 10_000, deadline: Date.now() + 3_600_000, tokens: 1e12, repeatedFailures: 10_000, repeatedCalls: 10_000, stepsWithoutEdit: 10_000 },
        promptCacheKey: 'bench-agent',
        log: createLogger({ level: 'silent' }),
        resume,
        onCheckpoint: async (snapshot, due) => {
          if (due) checkpoint = snapshot;
        },
        onStep: ({ step, usage, dollars }) => {
          mark();
          spent = { steps: step, usage, dollars: dollars ?? 0 };
          if (step === crashAt) crash.abort('crash');
        },
      });

    mark();
    let outcome = await run();
    if (crashAt !== undefined && outcome.status === 'cancelled' && spent) {
      // The resumed run's script picks up after the checkpoint's step: what came later is redone.
      sim.script(longSessionScript({ steps, files: FILES, firstStep: checkpoint?.step ?? 0 }));
      outcome = await run({ snapshot: checkpoint, spent });
    }
    mark();

    const harnessMs: number[] = [];
    const loopMs: number[] = [];
    for (let i = 1; i < marks.length; i++) {
      const [a, b] = [marks[i - 1]!, marks[i]!];
      const outside = b.at - a.at - (b.model - a.model);
      harnessMs.push(outside - (b.command - a.command));
      loopMs.push(outside - (b.tool - a.tool));
    }

    const answered = sim.requests.filter((r) => r.status === 200);
    let previous = '';
    let inputTokens = 0;
    let cacheablePrefixTokens = 0;
    let maxRequestTokens = 0;
    for (const request of answered) {
      const text = promptText(request.endpoint, request.body);
      const tokens = estimateTokens(text);
      inputTokens += tokens;
      cacheablePrefixTokens += Math.min(tokens, Math.floor(commonPrefixLength(previous, text) / 4));
      maxRequestTokens = Math.max(maxRequestTokens, tokens);
      previous = text;
    }
    return {
      status: outcome.status,
      steps: outcome.steps,
      modelRequests: answered.length,
      compactions: outcome.compactions,
      inputTokens,
      cacheablePrefixTokens,
      cacheableShare: cacheablePrefixTokens / inputTokens,
      providerCachedTokens: outcome.usage.cached,
      outputTokens: outcome.usage.output,
      dollars: outcome.dollars ?? 0,
      maxRequestTokens,
      contextOverflows: sim.requests.filter((r) => r.status === 400).length,
      timing: { harnessMs, loopMs, modelMs: clock.model, toolMs: clock.tool, commandMs: clock.command, wallMs: marks.at(-1)!.at - marks[0]!.at },
    };
  } finally {
    await sim.close();
    await repo.remove();
  }
}

const fmt = (n: number) => Math.round(n).toLocaleString('en-US');
const pct = (share: number) => `${(share * 100).toFixed(1)}%`;
const ms = (s: Summary) => `mean ${s.mean.toFixed(2)} · p50 ${s.p50.toFixed(2)} · p95 ${s.p95.toFixed(2)} · max ${s.max.toFixed(2)}`;

export async function runAgentBench(options: Map<string, string>): Promise<boolean> {
  const steps = Number(options.get('steps') ?? 120);
  const window = Number(options.get('window') ?? 100_000);
  const repeat = Number(options.get('repeat') ?? 3);
  const command = `npm run bench -- agent${options.size ? ` ${[...options].map(([k, v]) => `--${k} ${v}`).join(' ')}` : ''}`;

  const runs: SessionFigures[] = [];
  for (let i = 0; i < repeat; i++) runs.push(await session(steps, window));
  const notes = await session(steps, window, 'chat');
  const naive = await session(steps, undefined);
  const longSteps = Number(options.get('long-steps') ?? 300);
  const crashAt = Math.round(longSteps * 0.6);
  const steady = await session(longSteps, window);
  const crashed = await session(longSteps, window, 'responses', crashAt);
  const [main] = runs as [SessionFigures];
  const harness = summarize(runs.flatMap((run) => run.timing.harnessMs));
  const loop = summarize(runs.flatMap((run) => run.timing.loopMs));
  const naiveHarness = summarize(naive.timing.harnessMs);
  const pricing = modelInfo(MODEL).pricing!;
  // A harness that rewrites its prompt's start every turn gets no cache hits at all.
  const naiveUncachedDollars = responseCost({ input: naive.inputTokens, cached: 0, output: naive.outputTokens, reasoning: 0 }, pricing);
  const goals = {
    'cacheable share ≥ 85%': main.cacheableShare >= 0.85,
    'context never exceeds the window': main.maxRequestTokens <= window && main.contextOverflows === 0,
    'harness overhead < 10 ms/step (mean)': harness.mean < 10,
    'cacheable share ≥ 85% with hand-off notes': notes.cacheableShare >= 0.85,
    'context never exceeds the window with hand-off notes': notes.maxRequestTokens <= window && notes.contextOverflows === 0,
    'the session finishes': [...runs, notes].every((run) => run.status === 'finished'),
    'a crash and resume costs < 5% more than no crash': crashed.status === 'finished' && crashed.dollars <= steady.dollars * 1.05,
  };

  const machine = describeMachine();
  const result = {
    command,
    date: new Date().toISOString(),
    machine,
    session: { workingSteps: steps, contextWindow: window, compactAt: 0.8, model: MODEL, runs: repeat },
    compacting: { ...main, timing: { harnessMs: harness, loopMs: loop, modelMs: round(main.timing.modelMs), toolMs: round(main.timing.toolMs), commandMs: round(main.timing.commandMs), wallMs: round(main.timing.wallMs) } },
    handoffNotes: { ...notes, timing: { harnessMs: summarize(notes.timing.harnessMs), modelMs: round(notes.timing.modelMs), wallMs: round(notes.timing.wallMs) } },
    naive: { ...naive, uncachedDollars: naiveUncachedDollars, timing: { harnessMs: naiveHarness, modelMs: round(naive.timing.modelMs), wallMs: round(naive.timing.wallMs) } },
    crashAndResume: { steps: longSteps, crashAfterStep: crashAt, uninterrupted: steady, crashed, dollarsRatio: round(crashed.dollars / steady.dollars), inputTokensRatio: round(crashed.inputTokens / steady.inputTokens) },
    ratios: {
      inputTokensNaiveOverCompacting: round(naive.inputTokens / main.inputTokens),
      dollarsNaiveOverCompacting: round(naive.dollars / main.dollars),
      dollarsNaiveUncachedOverCompacting: round(naiveUncachedDollars / main.dollars),
    },
    goals,
  };
  await fs.mkdir(path.join(ROOT, 'bench/results'), { recursive: true });
  await fs.writeFile(path.join(ROOT, 'bench/results/agent.json'), `${JSON.stringify(result, null, 2)}\n`);

  const column = (run: SessionFigures, harnessMs: Summary) => [
    `${run.steps} / ${run.status}`,
    fmt(run.modelRequests),
    String(run.compactions),
    fmt(run.inputTokens),
    pct(run.cacheableShare),
    `${fmt(run.providerCachedTokens)} (${pct(run.providerCachedTokens / run.inputTokens)})`,
    fmt(run.maxRequestTokens),
    String(run.contextOverflows),
    `$${run.dollars.toFixed(3)}`,
    ms(harnessMs),
  ];
  const names = [
    'steps (model turns) / status',
    'model requests (incl. compaction)',
    'compactions',
    'input tokens, total',
    'cacheable share (byte-identical prefix of the previous request)',
    'cached tokens the simulator reported (OpenAI rules: ≥ 1,024, 128-token steps)',
    `largest request, tokens (compaction inputs included; window ${fmt(window)})`,
    'context-length errors',
    `cost at ${MODEL} prices`,
    'harness ms/step (excl. model round trips and sandboxed commands)',
  ];
  const columns = [column(main, harness), column(notes, summarize(notes.timing.harnessMs)), column(naive, naiveHarness)];
  columns[2]![8] += ` (uncached: $${naiveUncachedDollars.toFixed(3)})`;
  const markdown = [
    '## Agent: a long session',
    '',
    `Command: \`${command}\` · measured ${result.date.slice(0, 10)} on ${machine}.`,
    '',
    `A scripted session through the model simulator (the real \`openai\` client over HTTP): ${steps} working steps on a repository with ${FILES.length} large modules,`,
    'each step one large tool output (120-line reads, 100-match searches, 120-line `sed` output, notes, failing test runs), then the fix, the test run and `finish`.',
    `"ai-fix" is the agent as shipped, with the context window set to ${fmt(window)} tokens and compaction at 80%: natively through \`/responses/compact\` on the Responses API,`,
    'and by a hand-off note the model writes on Chat Completions (which has no compaction endpoint).',
    '"naive" replays the same script resending the whole history every turn and never compacting. Tokens are the simulator\'s count (4 characters a token).',
    '',
    '| | ai-fix, native compaction | ai-fix, hand-off notes | naive |',
    '| --- | --- | --- | --- |',
    ...names.map((name, i) => `| ${name} | ${columns.map((c) => c[i]).join(' | ')} |`),
    '',
    `Ratios, naive ÷ ai-fix (native compaction): input tokens **${result.ratios.inputTokensNaiveOverCompacting}×**, cost **${result.ratios.dollarsNaiveOverCompacting}×** (with prompt caching), **${result.ratios.dollarsNaiveUncachedOverCompacting}×** for a harness whose prompt prefix changes every turn.`,
    '',
    `Harness time is each step's wall time minus the model's HTTP round trips and the sandboxed commands (${runs.length} runs pooled); it includes building and parsing requests, context estimates, compaction, and the tools' own work (file reads, \`git grep\`, the \`git status\` edit check). Without the tools' work: ${ms(loop)} ms.`,
    '',
    `### A crash and a resume`,
    '',
    `${longSteps} working steps (${steady.compactions} compactions); in the second run the agent is stopped dead after step ${crashAt} and a new run resumes from the last checkpoint (saved every 5 steps and at each compaction), with the conversation and the spending of the first.`,
    '',
    '| | no crash | crash and resume | ratio |',
    '| --- | --- | --- | --- |',
    `| model requests | ${fmt(steady.modelRequests)} | ${fmt(crashed.modelRequests)} | ${round(crashed.modelRequests / steady.modelRequests)}× |`,
    `| compactions | ${steady.compactions} | ${crashed.compactions} | |`,
    `| input tokens | ${fmt(steady.inputTokens)} | ${fmt(crashed.inputTokens)} | ${result.crashAndResume.inputTokensRatio}× |`,
    `| cacheable share | ${pct(steady.cacheableShare)} | ${pct(crashed.cacheableShare)} | |`,
    `| cost | $${steady.dollars.toFixed(3)} | $${crashed.dollars.toFixed(3)} | ${result.crashAndResume.dollarsRatio}× |`,
    '',
    'Goals: ' + Object.entries(goals).map(([goal, met]) => `${goal}: ${met ? '**met**' : '**NOT met**'}`).join(' · '),
    '',
    'Raw figures: [`bench/results/agent.json`](../bench/results/agent.json).',
  ].join('\n');
  await writeBenchmarkSection(ROOT, 'agent', markdown);
  process.stdout.write(`${markdown}\n`);
  return Object.values(goals).every(Boolean);
}
