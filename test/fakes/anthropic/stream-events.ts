/**
 * The server-sent events of a streamed message, as the Messages API emits them.
 */
import { splitJsonAwkwardly, splitText, type Random } from "./chunking";
import type { SseEvent } from "./sse";
import type { WireContentBlock, WireMessage } from "./types";

const PING: SseEvent = { event: "ping", data: { type: "ping" } };

/**
 * All events of `message`: message_start, a ping, each block's start / deltas / stop
 * (with a ping between blocks), message_delta (stop reason, output usage), message_stop.
 */
export function completeStreamEvents(message: WireMessage, random: Random): SseEvent[] {
  const blocks = message.content.flatMap((block, index) => [
    ...(index > 0 ? [PING] : []),
    ...openBlockEvents(block, index, random),
    event("content_block_stop", { index }),
  ]);
  return [
    ...openingEvents(message),
    ...blocks,
    event("message_delta", {
      delta: { stop_reason: message.stop_reason, stop_sequence: message.stop_sequence },
      usage: { output_tokens: message.usage.output_tokens },
    }),
    event("message_stop", {}),
  ];
}

/** The events of a stream cut short: message_start, a ping, and each block started and streamed but not stopped. */
export function interruptedStreamEvents(message: WireMessage, random: Random): SseEvent[] {
  return [...openingEvents(message), ...message.content.flatMap((block, index) => openBlockEvents(block, index, random))];
}

function openingEvents(message: WireMessage): SseEvent[] {
  const start = { ...message, content: [], stop_reason: null, stop_sequence: null, usage: { ...message.usage, output_tokens: 1 } };
  return [event("message_start", { message: start }), PING];
}

/** content_block_start and the deltas of one block (text in small pieces, tool input as awkwardly split JSON). */
function openBlockEvents(block: WireContentBlock, index: number, random: Random): SseEvent[] {
  if (block.type === "text") {
    return [
      event("content_block_start", { index, content_block: { type: "text", text: "" } }),
      ...splitText(block.text, random).map((piece) => event("content_block_delta", { index, delta: { type: "text_delta", text: piece } })),
    ];
  }
  return [
    event("content_block_start", { index, content_block: { ...block, input: {} } }),
    ...splitJsonAwkwardly(JSON.stringify(block.input), random).map((piece) =>
      event("content_block_delta", { index, delta: { type: "input_json_delta", partial_json: piece } }),
    ),
  ];
}

function event(type: string, fields: object): SseEvent {
  return { event: type, data: { type, ...fields } };
}
