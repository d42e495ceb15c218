import type { TokenUsage } from './conversation.ts';
import type { ModelPricing } from './model-catalog.ts';

/**
 * Dollars one response cost. Per response, not per task: the long-context tier applies to a
 * request by its own input size.
 */
export function responseCost(usage: TokenUsage, pricing: ModelPricing): number {
  const rates = pricing.longContext && usage.input > pricing.longContext.aboveInputTokens ? pricing.longContext : pricing;
  const cached = Math.min(usage.cached, usage.input);
  // Output tokens include the reasoning tokens, which bill as output.
  return ((usage.input - cached) * rates.input + cached * rates.cachedInput + usage.output * rates.output) / 1_000_000;
}
