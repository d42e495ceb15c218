import type { ConversationItem } from './conversation.ts';

// OpenAI bills an image by its size, at most ~1,600 tokens at `detail: auto` on current models;
// counting its base64 text instead would overstate it a thousandfold.
const IMAGE_TOKENS = 1_600;

/** A rough token count (4 characters a token) of one item as it travels in a request. */
export function estimateItemTokens(item: ConversationItem): number {
  if (item.type === 'message' && item.images?.length) {
    return Math.ceil(JSON.stringify({ ...item, images: [] }).length / 4) + item.images.length * IMAGE_TOKENS;
  }
  return Math.ceil(JSON.stringify(item).length / 4);
}

/**
 * Estimates the size of the next request without re-serialising the history: the provider's
 * count for the last request, plus an estimate for each item appended since (counted once). The
 * history only grows between a measurement and a reset.
 */
export class ContextMeter {
  readonly #fixedTokens: number;
  #baseTokens: number;
  #tail = { items: 0, tokens: 0 };

  /** `fixedText`: what every request carries besides the history (instructions, tool schemas). */
  constructor(fixedText: string) {
    this.#fixedTokens = Math.ceil(fixedText.length / 4);
    this.#baseTokens = this.#fixedTokens;
  }

  /** The provider counted `inputTokens` for a request holding the first `historyLength` items. */
  measured(inputTokens: number, historyLength: number): void {
    // Some compatible servers report no usage; an estimate beats a zero.
    if (inputTokens <= 0) return;
    this.#baseTokens = inputTokens;
    this.#tail = { items: historyLength, tokens: 0 };
  }

  /** The history was replaced (compaction): nothing measured applies any more. */
  reset(): void {
    this.#baseTokens = this.#fixedTokens;
    this.#tail = { items: 0, tokens: 0 };
  }

  estimate(history: readonly ConversationItem[]): number {
    for (let i = this.#tail.items; i < history.length; i++) this.#tail.tokens += estimateItemTokens(history[i]!);
    this.#tail.items = history.length;
    return this.#baseTokens + this.#tail.tokens;
  }
}
