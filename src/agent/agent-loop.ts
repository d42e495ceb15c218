import type { Logger } from '../util/logger.ts';
import { clip } from '../util/markdown.ts';
import { redact } from '../util/redact.ts';
import { limitReached, type AgentLimits } from './agent-limits.ts';
import { Compactor } from './compaction.ts';
import { ContextMeter } from './context-meter.ts';
import { addUsage, emptyUsage, totalTokens, type ConversationItem, type FunctionCall, type TokenUsage } from './conversation.ts';
import { responseCost } from './cost.ts';
import type { ModelInfo } from './model-catalog.ts';
import { ModelError, type ModelClient, type ModelTurn } from './model-client.ts';
import { ModelDeadlineError } from './model-retry.ts';
import type { AgentSnapshot, TaskSpent } from './agent-snapshot.ts';
import { ProgressWatch } from './no-progress.ts';
import { FileViews } from './tools/file-views.ts';
import { ToolInputError, type AgentTool, type ToolContext, type ToolResult } from './tools/tool.ts';
import type { WorkspaceAccess } from '../sandbox/workspace-access.ts';
import type { PlanStep } from './tools/update-plan.ts';

export type { AgentLimits } from './agent-limits.ts';

export interface AgentProgress {
  step: number;
  usage: TokenUsage;
  /** null when the model has no price. */
  dollars: number | null;
  compactions: number;
}

export interface AgentRun {
  client: ModelClient;
  model: string;
  /** Context window, prices; an unknown model compacts only when the provider reports an overflow. */
  modelInfo: ModelInfo;
  instructions: string;
  taskPrompt: string;
  /** Data URLs of the images, for models that take images. */
  taskImages?: string[];
  tools: readonly AgentTool[];
  context: WorkspaceAccess;
  limits: AgentLimits;
  /** Compact when the next request would fill this share of the context window. */
  compactAt?: number;
  promptCacheKey?: string;
  /** Redacted, with token shapes, from everything the model reads: the provider is a third party. */
  secrets?: Iterable<string>;
  log: Logger;
  onStep?: (progress: AgentProgress) => void | Promise<void>;
  /** The model's plan each time it changes it (update_plan). */
  onPlan?: (plan: PlanStep[]) => void | Promise<void>;
  /** Where an earlier run of this task stopped: its conversation (when saved) and what it spent. */
  resume?: { snapshot?: AgentSnapshot; spent: TaskSpent };
  /** Steps between checkpoints (a compaction also makes one). */
  checkpointEvery?: number;
  /**
   * The conversation at the end of every step; `due` says it is time to save it with the work
   * tree it produced (every `checkpointEvery` steps and after a compaction).
   */
  onCheckpoint?: (snapshot: AgentSnapshot, due: boolean) => Promise<void>;
}

export type AgentStatus = 'finished' | 'limit' | 'stalled' | 'cancelled';

export interface AgentOutcome {
  status: AgentStatus;
  /** Why the agent stopped, in one sentence, when it did not finish. */
  reason?: string;
  summary?: string;
  steps: number;
  usage: TokenUsage;
  /** null when the model has no price. */
  dollars: number | null;
  compactions: number;
  edited: boolean;
  /** The last test verdict seen during the run (null: tests never ran). */
  testsPassed: boolean | null;
  lastTestOutput?: string;
}

const MAX_TOOL_OUTPUT = 16_000;
/** One turn's tool outputs together take at most this share of the context window. */
const TURN_OUTPUT_SHARE = 0.2;
const MAX_IDLE_TURNS = 3;
const DEFAULT_COMPACT_AT = 0.8;
/** Compactions in a row for one request before giving up on it. */
const CONTEXT_RETRIES = 2;
const NUDGE = 'Continue with the tools. When the task is done and the tests pass, call finish with a summary.';
const DEFAULT_CHECKPOINT_EVERY = 5;

/** Told to a resumed conversation, so the model knows what it may have lost. */
function resumeNote(savedStep: number, lastStep: number): string {
  const lost = lastStep > savedStep ? ` Steps ${savedStep + 1}–${lastStep} were lost: redo what they did if it still matters.` : '';
  return `(ai-fix) The task was interrupted and resumes from a checkpoint after step ${savedStep}; the files are as they were then.${lost} Continue.`;
}

async function runTool(tool: AgentTool | undefined, call: FunctionCall, context: ToolContext): Promise<ToolResult> {
  if (!tool) return { output: `Error: unknown tool ${call.name}` };
  let args: Record<string, unknown>;
  try {
    args = call.arguments ? (JSON.parse(call.arguments) as Record<string, unknown>) : {};
  } catch {
    return { output: `Error: the arguments are not valid JSON: ${clip(call.arguments, 200)}` };
  }
  try {
    return await tool.run(args, context);
  } catch (err) {
    if (err instanceof ToolInputError) return { output: `Error: ${err.message}` };
    return { output: `Error: ${(err as Error).message}` };
  }
}

/**
 * The coding loop: model turn, tool calls, repeat until finish (with green tests), a limit, or
 * no progress. The history only grows at the end, so each request extends the previous one byte
 * for byte and the provider's prompt cache serves all but the newest items; when it nears the
 * context window it is compacted, and growth resumes from the compacted history.
 */
export async function runAgent(run: AgentRun): Promise<AgentOutcome> {
  const { limits, modelInfo, log } = run;
  const context: ToolContext = { ...run.context, views: new FileViews() };
  const tools = new Map(run.tools.map((tool) => [tool.name, tool]));
  const schemas = run.tools.map(({ name, description, parameters }) => ({ name, description, parameters }));
  const secrets = run.secrets ?? [];
  const { snapshot, spent } = run.resume ?? {};
  const history: ConversationItem[] = snapshot
    ? [...snapshot.history, { type: 'message', role: 'user', content: resumeNote(snapshot.step, spent?.steps ?? snapshot.step) }]
    : [{ type: 'message', role: 'user', content: redact(run.taskPrompt, secrets), ...(run.taskImages?.length ? { images: run.taskImages } : {}) }];
  const meter = new ContextMeter(run.instructions + JSON.stringify(schemas));
  const compactor = new Compactor({
    client: run.client,
    model: run.model,
    instructions: run.instructions,
    tools: schemas,
    promptCacheKey: run.promptCacheKey,
    contextWindow: modelInfo.contextWindow,
    deadline: limits.deadline,
    log,
  });
  const watch = new ProgressWatch(limits);
  const pricing = modelInfo.pricing;
  // A resumed run goes on counting: its caps hold for the task, not for the run.
  let usage = spent?.usage ?? emptyUsage();
  let dollars = spent?.dollars ?? 0;
  let compactions = snapshot?.compactions ?? 0;
  let edited = snapshot?.edited ?? false;
  let testsPassed: boolean | null = snapshot?.testsPassed ?? null;
  let lastTestOutput: string | undefined = snapshot?.lastTestOutput;
  let compactedThisStep = false;
  let idleTurns = 0;
  /** History length right after the last compaction: compacting again needs new items. */
  let compactedLength = history.length;

  const account = (more: TokenUsage) => {
    usage = addUsage(usage, more);
    if (pricing) dollars += responseCost(more, pricing);
  };
  const outcome = (status: AgentStatus, steps: number, extra: Partial<AgentOutcome> = {}): AgentOutcome => ({
    status,
    steps,
    usage,
    dollars: pricing ? dollars : null,
    compactions,
    edited,
    testsPassed,
    lastTestOutput,
    ...extra,
  });
  const compact = async (why: string) => {
    const before = meter.estimate(history);
    const result = await compactor.compact(history, context.signal);
    result.responses.forEach(account);
    history.splice(0, history.length, ...result.history);
    compactedLength = history.length;
    meter.reset();
    watch.forgetCalls();
    compactions++;
    compactedThisStep = true;
    log.info({ why, method: result.method, tokensBefore: before, tokensAfter: meter.estimate(history) }, 'context compacted');
  };
  // A history holding nothing new since the last compaction (or only the task) cannot shrink.
  const compactable = () => history.length > compactedLength + 1;
  /** One model turn; a context overflow compacts and retries. Undefined: it does not fit even then. */
  const requestTurn = async (): Promise<ModelTurn | undefined> => {
    for (let attempt = 0; ; attempt++) {
      const sent = history.length;
      try {
        const turn = await run.client.complete(
          { model: run.model, instructions: run.instructions, tools: schemas, history, promptCacheKey: run.promptCacheKey, deadline: limits.deadline },
          context.signal,
        );
        account(turn.usage);
        meter.measured(turn.usage.input, sent);
        return turn;
      } catch (err) {
        if (!(err instanceof ModelError && err.contextLengthExceeded)) throw err;
        if (attempt >= CONTEXT_RETRIES || !compactable()) return undefined;
        await compact('the provider reported a context overflow');
      }
    }
  };
  const window = modelInfo.contextWindow;
  const compactAt = run.compactAt ?? DEFAULT_COMPACT_AT;
  // Parallel calls share the turn's budget, so ten large outputs cannot overflow the window at once.
  const outputLimit = (calls: number) =>
    window === undefined ? MAX_TOOL_OUTPUT : Math.max(1_000, Math.min(MAX_TOOL_OUTPUT, Math.floor((window * 4 * TURN_OUTPUT_SHARE) / calls)));

  const checkpointEvery = run.checkpointEvery ?? DEFAULT_CHECKPOINT_EVERY;
  let sinceCheckpoint = 0;
  const checkpoint = async (step: number) => {
    const due = ++sinceCheckpoint >= checkpointEvery || compactedThisStep;
    if (due) sinceCheckpoint = 0;
    compactedThisStep = false;
    // The history is copied only for someone who keeps it.
    if (run.onCheckpoint) await run.onCheckpoint({ history: [...history], step, compactions, edited, testsPassed, lastTestOutput }, due);
  };
  for (let step = (spent?.steps ?? 0) + 1; ; step++) {
    if (context.signal.aborted) return outcome('cancelled', step - 1, { reason: 'the task was cancelled' });
    const limit = limitReached(limits, { steps: step - 1, usage, dollars: pricing ? dollars : null }, Date.now());
    if (limit) return outcome('limit', step - 1, { reason: limit });
    let turn: ModelTurn | undefined;
    try {
      if (window !== undefined && compactable() && meter.estimate(history) > window * compactAt) await compact('the context nears the window');
      turn = await requestTurn();
    } catch (err) {
      // A cancel aborts the request in flight; what was done so far still counts.
      if (context.signal.aborted) return outcome('cancelled', step - 1, { reason: 'the task was cancelled' });
      if (err instanceof ModelDeadlineError) return outcome('limit', step - 1, { reason: 'time limit reached while waiting for the model' });
      throw err;
    }
    if (!turn) {
      return outcome('limit', step - 1, { reason: "the conversation does not fit the model's context window, even compacted" });
    }
    history.push(...turn.items);
    await run.onStep?.({ step, usage, dollars: pricing ? dollars : null, compactions });

    if (turn.toolCalls.length === 0) {
      idleTurns++;
      watch.step(false);
      if (idleTurns >= MAX_IDLE_TURNS) {
        return outcome('stalled', step, { reason: 'the model stopped using its tools without finishing', summary: turn.text || undefined });
      }
      history.push({ type: 'message', role: 'user', content: NUDGE });
      const stuck = watch.verdict();
      if (stuck) return outcome('stalled', step, { reason: stuck });
      continue;
    }
    idleTurns = 0;

    let finished: { summary: string } | undefined;
    let stepEdited = false;
    for (const call of turn.toolCalls) {
      const result = await runTool(tools.get(call.name), call, context);
      if (result.edited) stepEdited = true;
      if (result.plan) await run.onPlan?.(result.plan);
      let output = result.output;
      let failureNote: string | undefined;
      if (result.testsPassed !== undefined) {
        testsPassed = result.testsPassed;
        lastTestOutput = result.output;
        failureNote = watch.testRun(result.testsPassed, result.output);
      }
      if (result.finished) {
        // "Done" means green: the harness checks rather than trusting the claim.
        const verdict = context.testCommand ? await tools.get('run_tests')?.run({}, context) : undefined;
        if (verdict?.testsPassed !== undefined) failureNote = watch.testRun(verdict.testsPassed, verdict.output);
        if (verdict?.testsPassed === false) {
          testsPassed = false;
          lastTestOutput = verdict.output;
          output = `The tests do not pass yet, so the task is not finished:\n${verdict.output}`;
        } else {
          if (verdict) {
            testsPassed = verdict.testsPassed ?? testsPassed;
            lastTestOutput = verdict.output;
          }
          finished = result.finished;
          output = 'Finished.';
        }
      }
      // The note comes after the clipped output, within its budget, so the model always reads it.
      const note = failureNote ?? watch.toolCall(call, output);
      const noted = note ? `\n\n${note}` : '';
      const shown = clip(redact(output, secrets), outputLimit(turn.toolCalls.length) - noted.length);
      history.push({ type: 'function_call_output', callId: call.callId, output: shown + noted });
    }
    if (stepEdited) edited = true;
    watch.step(stepEdited);
    log.debug({ step, calls: turn.toolCalls.map((c) => c.name), tokens: totalTokens(usage) }, 'agent step');
    if (finished) return outcome('finished', step, { summary: finished.summary });
    const stuck = watch.verdict();
    if (stuck) return outcome('stalled', step, { reason: stuck });
    await checkpoint(step);
  }
}
