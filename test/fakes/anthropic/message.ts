/**
 * Turning a scripted reply into the assistant message the API would send.
 */
import { randomBytes } from "node:crypto";
import type { ScriptedBlock, ReplyTurn } from "./script";
import { estimateTokens, type InputUsage } from "./usage";
import type { WireContentBlock, WireMessage } from "./types";

const ID_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";

/** An API-style id: `prefix` followed by 24 random letters and digits (e.g. `toolu_01…`, `msg_…`, `req_…`). */
export function randomId(prefix: string): string {
  return prefix + [...randomBytes(24)].map((byte) => ID_ALPHABET[byte % ID_ALPHABET.length]).join("");
}

/** The parts of a reply turn that make up its message. */
export type MessageSpec = Pick<ReplyTurn, "content" | "stop_reason" | "stop_sequence" | "usage">;

/** The message answering a request for `model`; usage is estimated unless `spec` overrides it. */
export function buildMessage(spec: MessageSpec, model: string, input: InputUsage): WireMessage {
  const content = spec.content.map(toWireBlock);
  return {
    id: randomId("msg_"),
    type: "message",
    role: "assistant",
    model,
    content,
    stop_reason: spec.stop_reason ?? (content.some((block) => block.type === "tool_use") ? "tool_use" : "end_turn"),
    stop_sequence: spec.stop_sequence ?? null,
    usage: { ...input, output_tokens: Math.max(1, estimateTokens(JSON.stringify(content))), ...spec.usage },
  };
}

function toWireBlock(block: ScriptedBlock): WireContentBlock {
  if (block.type === "text") return { type: "text", text: block.text };
  return { type: "tool_use", id: block.id ?? randomId("toolu_"), name: block.name, input: block.input };
}
