import type { ModelOverride } from '../config/env.ts';

// What the harness needs to know about a model: its price (to count dollars and enforce the
// dollar limit), its input window (to compact before overflowing) and whether it takes images.
// Prices are OpenAI's list prices in US dollars per million tokens, standard tier, as published
// in November 2026; operators override or extend them with AI_FIX_MODELS.

export interface TokenPrices {
  input: number;
  cachedInput: number;
  output: number;
}

export interface ModelPricing extends TokenPrices {
  /** OpenAI bills a whole request at higher rates once its input passes a threshold. */
  longContext?: TokenPrices & { aboveInputTokens: number };
}

export interface ModelInfo {
  /** Input tokens one request may hold; undefined when unknown (compaction then waits for the provider's error). */
  contextWindow?: number;
  pricing?: ModelPricing;
  images: boolean;
}

const price = (input: number, cachedInput: number, output: number): TokenPrices => ({ input, cachedInput, output });

// The gpt-5 family accepts 272k input tokens (400k with output); newer models offer more at the
// long-context rates, which compaction stays below on purpose.
const GPT5_WINDOW = 272_000;

const BUILT_IN: Record<string, ModelInfo> = {
  'gpt-5': { contextWindow: GPT5_WINDOW, pricing: price(1.25, 0.125, 10), images: true },
  'gpt-5-mini': { contextWindow: GPT5_WINDOW, pricing: price(0.25, 0.025, 2), images: true },
  'gpt-5-nano': { contextWindow: GPT5_WINDOW, pricing: price(0.05, 0.005, 0.4), images: true },
  'gpt-5-codex': { contextWindow: GPT5_WINDOW, pricing: price(1.25, 0.125, 10), images: true },
  'gpt-5-pro': { contextWindow: GPT5_WINDOW, pricing: price(15, 15, 120), images: true },
  'gpt-5.1': { contextWindow: GPT5_WINDOW, pricing: price(1.25, 0.125, 10), images: true },
  'gpt-5.1-codex': { contextWindow: GPT5_WINDOW, pricing: price(1.25, 0.125, 10), images: true },
  'gpt-5.1-codex-mini': { contextWindow: GPT5_WINDOW, pricing: price(0.25, 0.025, 2), images: true },
  'gpt-5.1-codex-max': { contextWindow: GPT5_WINDOW, pricing: price(1.25, 0.125, 10), images: true },
  'gpt-5.2': { contextWindow: GPT5_WINDOW, pricing: price(1.75, 0.175, 14), images: true },
  'gpt-5.2-codex': { contextWindow: GPT5_WINDOW, pricing: price(1.75, 0.175, 14), images: true },
  'gpt-5.2-pro': { contextWindow: GPT5_WINDOW, pricing: price(21, 21, 168), images: true },
  'gpt-5.3-codex': { contextWindow: GPT5_WINDOW, pricing: price(1.75, 0.175, 14), images: true },
  'gpt-5.4': {
    contextWindow: GPT5_WINDOW,
    pricing: { ...price(2.5, 0.25, 15), longContext: { ...price(5, 0.5, 22.5), aboveInputTokens: 272_000 } },
    images: true,
  },
  'gpt-5.4-mini': { contextWindow: GPT5_WINDOW, pricing: price(0.75, 0.075, 4.5), images: true },
  'gpt-5.4-nano': { contextWindow: GPT5_WINDOW, pricing: price(0.2, 0.02, 1.25), images: true },
  'gpt-5.5': {
    contextWindow: GPT5_WINDOW,
    pricing: { ...price(5, 0.5, 30), longContext: { ...price(10, 1, 45), aboveInputTokens: 272_000 } },
    images: true,
  },
  'gpt-4.1': { contextWindow: 1_047_576, pricing: price(2, 0.5, 8), images: true },
  'gpt-4.1-mini': { contextWindow: 1_047_576, pricing: price(0.4, 0.1, 1.6), images: true },
  'gpt-4.1-nano': { contextWindow: 1_047_576, pricing: price(0.1, 0.025, 0.4), images: true },
  'gpt-4o': { contextWindow: 128_000, pricing: price(2.5, 1.25, 10), images: true },
  'gpt-4o-mini': { contextWindow: 128_000, pricing: price(0.15, 0.075, 0.6), images: true },
  o1: { contextWindow: 200_000, pricing: price(15, 7.5, 60), images: true },
  'o1-pro': { contextWindow: 200_000, pricing: price(150, 150, 600), images: true },
  o3: { contextWindow: 200_000, pricing: price(2, 0.5, 8), images: true },
  'o3-pro': { contextWindow: 200_000, pricing: price(20, 20, 80), images: true },
  'o3-mini': { contextWindow: 200_000, pricing: price(1.1, 0.55, 4.4), images: false },
  'o4-mini': { contextWindow: 200_000, pricing: price(1.1, 0.275, 4.4), images: true },
  'codex-mini-latest': { contextWindow: 200_000, pricing: price(1.5, 0.375, 6), images: true },
};

const DATED_SNAPSHOT = /-\d{4}-\d{2}-\d{2}$/;

function builtIn(model: string): ModelInfo | undefined {
  return BUILT_IN[model] ?? BUILT_IN[model.replace(DATED_SNAPSHOT, '')];
}

function applyOverride(base: ModelInfo | undefined, override: ModelOverride): ModelInfo {
  const info: ModelInfo = { ...base, images: override.images ?? base?.images ?? false };
  if (override.context_window !== undefined) info.contextWindow = override.context_window;
  const input = override.input ?? base?.pricing?.input;
  const output = override.output ?? base?.pricing?.output;
  if (input !== undefined && output !== undefined) {
    const changed = override.input !== undefined || override.output !== undefined || override.cached_input !== undefined;
    info.pricing = {
      input,
      output,
      // Providers without a prompt-cache discount bill cached input like any input.
      cachedInput: override.cached_input ?? base?.pricing?.cachedInput ?? input,
      // A changed price invalidates the built-in long-context tier.
      ...(changed || !base?.pricing?.longContext ? {} : { longContext: base.pricing.longContext }),
    };
  }
  return info;
}

/** The model's info: the operator's override merged over the built-in entry (dated snapshots share their alias's). */
export function modelInfo(model: string, overrides: Record<string, ModelOverride> = {}): ModelInfo {
  const base = builtIn(model);
  const override = overrides[model] ?? overrides[model.replace(DATED_SNAPSHOT, '')];
  return override ? applyOverride(base, override) : (base ?? { images: false });
}
