import { describe, expect, it } from '@jest/globals';
import { ContextMeter, estimateItemTokens } from '../../src/agent/context-meter.ts';
import type { ConversationItem } from '../../src/agent/conversation.ts';

const output = (text: string): ConversationItem => ({ type: 'function_call_output', callId: 'c', output: text });

describe('context meter', () => {
  it('starts from the fixed text, then from the provider\'s count plus what was appended since', () => {
    const meter = new ContextMeter('x'.repeat(4_000));
    const history: ConversationItem[] = [{ type: 'message', role: 'user', content: 'task' }];
    expect(meter.estimate(history)).toBe(1_000 + estimateItemTokens(history[0]!));
    meter.measured(5_000, history.length);
    history.push(output('y'.repeat(8_000)));
    expect(meter.estimate(history)).toBe(5_000 + estimateItemTokens(history[1]!));
    expect(estimateItemTokens(history[1]!)).toBeGreaterThan(2_000);
    meter.measured(0, history.length); // no usage reported: keep the estimate
    expect(meter.estimate(history)).toBe(5_000 + estimateItemTokens(history[1]!));
    meter.reset();
    expect(meter.estimate(history)).toBe(1_000 + estimateItemTokens(history[0]!) + estimateItemTokens(history[1]!));
  });

  it('counts an image as image tokens, not as its base64 text', () => {
    const image: ConversationItem = { type: 'message', role: 'user', content: 'see', images: [`data:image/png;base64,${'A'.repeat(4_000_000)}`] };
    expect(estimateItemTokens(image)).toBeLessThan(2_000);
  });
});
