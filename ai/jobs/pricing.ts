import type { TokenUsage } from "../contract";

/** US dollars per million tokens: input, output, cache write, cache read (list prices by model family). */
const PRICES: [family: RegExp, prices: [number, number, number, number]][] = [
  [/haiku/, [1, 5, 1.25, 0.1]],
  [/opus-4-[01]|opus-4-20/, [15, 75, 18.75, 1.5]],
  [/opus/, [5, 25, 6.25, 0.5]],
  [/.*/, [3, 15, 3.75, 0.3]],
];

/** The estimated cost of `usage` on `model`, in dollars, rounded to a hundredth of a cent. */
export function estimateCost(model: string, usage: TokenUsage): number {
  const [input, output, cacheWrite, cacheRead] = PRICES.find(([family]) => family.test(model))![1];
  const dollars =
    (usage.inputTokens * input + usage.outputTokens * output + usage.cacheWriteTokens * cacheWrite + usage.cacheReadTokens * cacheRead) / 1_000_000;
  return Math.round(dollars * 10_000) / 10_000;
}
