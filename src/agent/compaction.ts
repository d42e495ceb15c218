import type { Logger } from '../util/logger.ts';
import { clip } from '../util/markdown.ts';
import { estimateItemTokens } from './context-meter.ts';
import type { ConversationItem, TokenUsage } from './conversation.ts';
import { ModelError, type ModelClient, type ToolSchema } from './model-client.ts';

export const HANDOFF_REQUEST = `Your context window is nearly full, so this conversation will now be compacted: everything after the task description will be replaced by a note you write now. Do not call tools. Write the hand-off note you will continue from:
- what is done: files changed and how, decisions taken and why;
- what you learned: the relevant files, functions, commands and conventions;
- the state of the tests: which fail, with their exact error lines;
- what to do next, in order.
Be specific (paths, names, exact messages) and brief.`;

export const HANDOFF_HEADER = 'The conversation was compacted to fit the context window. Your hand-off note from before the compaction:';
const OMITTED = '(Earlier steps of this session are omitted here.)';

export interface CompactionSetup {
  client: ModelClient;
  model: string;
  instructions: string;
  tools: ToolSchema[];
  promptCacheKey?: string;
  /** Input tokens a request may hold, when known. */
  contextWindow?: number;
  /** Epoch ms the task's time runs out. */
  deadline?: number;
  log: Logger;
}

export interface Compaction {
  history: ConversationItem[];
  method: 'native' | 'summary';
  /** Usage of each model response the compaction took, for the token and cost accounts. */
  responses: TokenUsage[];
}

const message = (content: string): ConversationItem => ({ type: 'message', role: 'user', content });

/** Drops the older half of the steps after the task, cutting only between steps so every tool call keeps its output. */
function dropOlderSteps(items: ConversationItem[]): ConversationItem[] | undefined {
  const starts: number[] = [];
  for (let i = 2; i < items.length; i++) {
    const previous = items[i - 1]!;
    if (items[i]!.type !== 'function_call_output' && (previous.type === 'function_call_output' || (previous.type === 'message' && previous.role === 'user'))) {
      starts.push(i);
    }
  }
  if (!starts.length) return items.length > 2 ? [items[0]!, message(OMITTED)] : undefined;
  const cut = starts[Math.floor(starts.length / 2)]!;
  return [items[0]!, message(OMITTED), ...items.slice(cut)];
}

/** When the model writes no note: the recent tool calls, so the next turn knows where it was. */
function mechanicalNote(history: ConversationItem[]): string {
  const calls = history.flatMap((item) => (item.type === 'function_call' ? [`- ${item.name} ${clip(item.arguments, 200)}`] : []));
  return ['(No note was written.) Your most recent tool calls, oldest first:', ...calls.slice(-30)].join('\n');
}

/**
 * Shrinks a history that nears the context window: natively (POST /responses/compact) while the
 * endpoint supports it, otherwise by a hand-off note the model writes, asked for at the end of
 * the unchanged history so the provider's prompt cache still serves that request. The task
 * message (history[0]) is always kept.
 */
export class Compactor {
  readonly #setup: CompactionSetup;
  #native: boolean;

  constructor(setup: CompactionSetup) {
    this.#setup = setup;
    this.#native = setup.client.compact !== undefined;
  }

  async compact(history: ConversationItem[], signal?: AbortSignal): Promise<Compaction> {
    const { client, model, instructions, promptCacheKey, deadline, log } = this.#setup;
    if (this.#native && client.compact) {
      try {
        const compacted = await client.compact({ model, instructions, history, promptCacheKey, deadline }, signal);
        return { history: compacted.items, method: 'native', responses: [compacted.usage] };
      } catch (err) {
        if (!(err instanceof ModelError)) throw err;
        log.warn({ err }, 'native compaction failed; compacting by a hand-off note from now on');
        this.#native = false;
      }
    }
    return this.#summarize(history, signal);
  }

  async #summarize(history: ConversationItem[], signal?: AbortSignal): Promise<Compaction> {
    const { client, model, instructions, tools, promptCacheKey, contextWindow, deadline } = this.#setup;
    const fixedTokens = Math.ceil((instructions.length + JSON.stringify(tools).length) / 4);
    const responses: TokenUsage[] = [];
    let kept: ConversationItem[] | undefined = history;
    let note = '';
    while (kept) {
      const request = [...kept, message(HANDOFF_REQUEST)];
      const tokens = fixedTokens + request.reduce((sum, item) => sum + estimateItemTokens(item), 0);
      if (contextWindow !== undefined && tokens > contextWindow) {
        kept = dropOlderSteps(kept);
        continue;
      }
      try {
        const turn = await client.complete({ model, instructions, tools, history: request, promptCacheKey, toolChoice: 'none', deadline }, signal);
        responses.push(turn.usage);
        note = turn.text.trim();
        break;
      } catch (err) {
        if (!(err instanceof ModelError && err.contextLengthExceeded)) throw err;
        kept = dropOlderSteps(kept);
      }
    }
    const task = history[0] ?? message('(no task message)');
    return { history: [task, message(`${HANDOFF_HEADER}\n\n${note || mechanicalNote(history)}`)], method: 'summary', responses };
  }
}
