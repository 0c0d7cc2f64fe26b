import type Anthropic from "@anthropic-ai/sdk";
import { answerInterrupted, compactToolResults, estimateTokens } from "./loop";

type MessageParam = Anthropic.MessageParam;

/** What a tool call left unanswered when the earlier request ended is answered with in a follow-up. */
const ENDED_WHILE_RUNNING = "not finished: the request ended while this ran; check the state before repeating it";

/** Tool inputs and outputs longer than this (a whole file) are replaced by their size in a carried-over conversation. */
const MAX_CARRIED_CHARS = 200;

/** A user message that is a prompt, not tool results. */
function isPrompt(message: MessageParam): boolean {
  return message.role === "user" && (typeof message.content === "string" || !message.content.some((b) => b.type === "tool_result"));
}

function promptText(message: MessageParam): string {
  if (typeof message.content === "string") return message.content;
  return message.content.flatMap((b) => (b.type === "text" ? [b.text] : [])).join(" ");
}

/** Replaces long string inputs of tool calls (file contents) by a note of their size. */
function compactToolInputs(messages: MessageParam[]): void {
  for (const message of messages) {
    if (message.role !== "assistant" || typeof message.content === "string") continue;
    message.content = message.content.map((block) => {
      if (block.type !== "tool_use" || typeof block.input !== "object" || block.input === null) return block;
      const input = Object.fromEntries(
        Object.entries(block.input).map(([key, value]) => [key, typeof value === "string" && value.length > MAX_CARRIED_CHARS ? `[compacted: ${value.length} characters]` : value]),
      );
      return { ...block, input };
    });
  }
}

/** The paths the dropped messages' tool calls wrote or edited. */
function pathsTouched(messages: MessageParam[]): string[] {
  const paths = new Set<string>();
  for (const message of messages) {
    if (message.role !== "assistant" || typeof message.content === "string") continue;
    for (const block of message.content) {
      const path = block.type === "tool_use" ? (block.input as { path?: unknown }).path : undefined;
      if (typeof path === "string" && block.type === "tool_use" && block.name !== "read_file") paths.add(path);
    }
  }
  return [...paths];
}

/**
 * The project's earlier conversation as the next prompt's history: the previous job's transcript with
 * its long tool outputs and inputs compacted (the model keeps what it did and why, not the bytes),
 * calls it left unanswered answered as not finished, its outcome as the assistant's last word, and
 * whole earlier requests dropped from the oldest while it is over `budgetTokens`, with a note of what
 * fell off (their prompts and the files they touched). The newest earlier request is always kept.
 */
export function continuedConversation(messages: MessageParam[], summary: string | null, budgetTokens: number): MessageParam[] {
  const carried = structuredClone(messages);
  answerInterrupted(carried, ENDED_WHILE_RUNNING);
  if (carried.at(-1)?.role === "user") carried.push({ role: "assistant", content: summary || "(that request ended without a summary)" });
  compactToolResults(carried, 0, MAX_CARRIED_CHARS);
  compactToolInputs(carried);

  const starts = carried.flatMap((m, i) => (isPrompt(m) ? [i] : []));
  let from = 0;
  for (const start of starts.slice(1)) {
    if (estimateTokens(carried.slice(from)) <= budgetTokens) break;
    from = start;
  }
  if (from === 0) return carried;
  const dropped = carried.slice(0, from);
  const kept = carried.slice(from);
  const prompts = dropped.filter(isPrompt).map((m) => JSON.stringify(promptText(m).slice(0, 200)));
  const paths = pathsTouched(dropped);
  const note = `(Earlier in this project, no longer shown: ${prompts.length} request(s): ${prompts.join("; ")}${paths.length > 0 ? `; files written or edited: ${paths.slice(0, 50).join(", ")}` : ""}.)`;
  const first = kept[0]!;
  kept[0] = { role: "user", content: [{ type: "text", text: note }, ...(typeof first.content === "string" ? [{ type: "text" as const, text: first.content }] : first.content)] };
  return kept;
}
