/**
 * Rough token accounting, including prompt caching: a request with `cache_control` breakpoints
 * writes its prompt prefix (up to the last breakpoint) to the cache, and a later request whose
 * prefix extends a cached one reads those tokens back.
 */
import type Anthropic from "@anthropic-ai/sdk";
import type { WireUsage } from "./types";

/** About one token per four characters. */
export function estimateTokens(serialized: string): number {
  return Math.ceil(serialized.length / 4);
}

/** The input side of `usage`. */
export type InputUsage = Pick<WireUsage, "input_tokens" | "cache_creation_input_tokens" | "cache_read_input_tokens">;

/** Prompt prefixes cached by earlier requests, for estimating cache reads and writes. */
export class PromptCache {
  readonly #prefixes = new Set<string>();

  /** Input token counts for `body`; remembers its cacheable prefix for later requests. */
  inputUsage(body: Anthropic.MessageCreateParams): InputUsage {
    const segments = promptSegments(body);
    const total = estimateTokens(segments.map((s) => s.key).join(""));
    const lastBreakpoint = segments.map((s) => s.breakpoint).lastIndexOf(true);
    if (lastBreakpoint < 0) return { input_tokens: total, cache_creation_input_tokens: 0, cache_read_input_tokens: 0 };

    const prefix = segments.slice(0, lastBreakpoint + 1).map((s) => s.key).join("");
    const prefixTokens = estimateTokens(prefix);
    const hit = [...this.#prefixes].filter((cached) => prefix.startsWith(cached)).sort((a, b) => b.length - a.length)[0];
    const read = hit === undefined ? 0 : estimateTokens(hit);
    this.#prefixes.add(prefix);
    return {
      input_tokens: Math.max(total - prefixTokens, 0),
      cache_creation_input_tokens: prefixTokens - read,
      cache_read_input_tokens: read,
    };
  }
}

/** A piece of the prompt in cache order (model, tools, system, message blocks), serialized without its cache_control. */
interface Segment {
  key: string;
  breakpoint: boolean;
}

function promptSegments(body: Anthropic.MessageCreateParams): Segment[] {
  const blocks: Array<{ role: string; part: unknown }> = [
    { role: "model", part: body.model },
    ...(body.tools ?? []).map((part) => ({ role: "tool", part })),
    ...asBlocks(body.system ?? []).map((part) => ({ role: "system", part })),
    ...body.messages.flatMap((message) => asBlocks(message.content).map((part) => ({ role: message.role, part }))),
  ];
  return blocks.map(({ role, part }) => {
    if (typeof part !== "object" || part === null) return { key: segmentKey(role, part), breakpoint: false };
    const { cache_control, ...rest } = part as { cache_control?: unknown };
    return { key: segmentKey(role, rest), breakpoint: cache_control != null };
  });
}

/** String content is shorthand for one text block, and caches the same. */
function asBlocks(content: string | readonly unknown[]): readonly unknown[] {
  return typeof content === "string" ? [{ type: "text", text: content }] : content;
}

/** Separators keep segment boundaries distinct, so a prefix match always ends on a whole segment. */
function segmentKey(role: string, value: unknown): string {
  return `${role}\u0000${JSON.stringify(value)}\u0001`;
}
