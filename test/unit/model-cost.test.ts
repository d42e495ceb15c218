import { describe, expect, it } from '@jest/globals';
import { responseCost } from '../../src/agent/cost.ts';
import { modelInfo } from '../../src/agent/model-catalog.ts';

const usage = (input: number, cached: number, output: number) => ({ input, cached, output, reasoning: 0 });

describe('model catalog', () => {
  it('knows the gpt-5 family, gpt-4.1 and the o-series, with cached-input prices', () => {
    expect(modelInfo('gpt-5-codex')).toMatchObject({ contextWindow: 272_000, images: true, pricing: { input: 1.25, cachedInput: 0.125, output: 10 } });
    expect(modelInfo('gpt-5-mini').pricing).toMatchObject({ input: 0.25, cachedInput: 0.025, output: 2 });
    expect(modelInfo('gpt-4.1').pricing).toMatchObject({ input: 2, cachedInput: 0.5, output: 8 });
    expect(modelInfo('o4-mini').pricing).toMatchObject({ input: 1.1, cachedInput: 0.275, output: 4.4 });
    expect(modelInfo('o3-mini').images).toBe(false);
  });

  it('maps dated snapshots to their alias, and knows nothing of unknown models', () => {
    expect(modelInfo('gpt-4.1-mini-2025-04-14').pricing?.input).toBe(0.4);
    expect(modelInfo('gpt-5-2025-08-07').pricing?.input).toBe(1.25);
    expect(modelInfo('llama-3-70b')).toEqual({ images: false });
  });

  it('merges an operator override over the built-in entry', () => {
    const overrides = { 'gpt-5': { context_window: 100_000 }, 'my-model': { input: 1, output: 4, images: true }, 'gpt-4.1': { input: 3 } };
    expect(modelInfo('gpt-5', overrides)).toMatchObject({ contextWindow: 100_000, pricing: { input: 1.25, cachedInput: 0.125 } });
    expect(modelInfo('my-model', overrides)).toEqual({ images: true, pricing: { input: 1, cachedInput: 1, output: 4 } });
    expect(modelInfo('gpt-4.1', overrides).pricing).toEqual({ input: 3, cachedInput: 0.5, output: 8 });
  });
});

describe('response cost', () => {
  it('bills cached input at the cached rate and output (with reasoning) at the output rate', () => {
    const pricing = modelInfo('gpt-5').pricing!;
    // 100k input of which 80k cached, 2k output: 20k*1.25 + 80k*0.125 + 2k*10, per million.
    expect(responseCost(usage(100_000, 80_000, 2_000), pricing)).toBeCloseTo(0.025 + 0.01 + 0.02, 10);
  });

  it('bills a whole request at the long-context rates past the threshold', () => {
    const pricing = modelInfo('gpt-5.4').pricing!;
    expect(responseCost(usage(272_000, 0, 0), pricing)).toBeCloseTo(0.68, 10);
    expect(responseCost(usage(300_000, 0, 0), pricing)).toBeCloseTo(1.5, 10);
  });
});
