import { describe, expect, it } from "vitest";
import { findProtocolViolation } from "./protocol-check";

const user = (content: unknown) => ({ role: "user", content });
const assistant = (content: unknown) => ({ role: "assistant", content });
const toolUseBlock = (id: string) => ({ type: "tool_use", id, name: "run_build", input: {} });
const toolResult = (id: string) => ({ type: "tool_result", tool_use_id: id, content: "ok" });
const request = (fields: Record<string, unknown>) => ({ model: "claude-sonnet-4-6", max_tokens: 100, messages: [user("hi")], ...fields });

describe("findProtocolViolation", () => {
  it("accepts a tool round trip with a final assistant prefill", () => {
    const body = request({
      tools: [{ name: "run_build", input_schema: { type: "object" } }],
      messages: [user("build"), assistant([toolUseBlock("toolu_1")]), user([toolResult("toolu_1")]), assistant([])],
    });
    expect(findProtocolViolation(body)).toBeUndefined();
  });

  it.each([
    ["a non-object body", [], "body: must be a JSON object"],
    ["an empty model", request({ model: "" }), "model: must be a non-empty string"],
    ["a fractional max_tokens", request({ max_tokens: 1.5 }), "max_tokens: must be a positive integer"],
    ["a zero max_tokens", request({ max_tokens: 0 }), "max_tokens: must be a positive integer"],
    ["a tool without a name", request({ tools: [{ input_schema: { type: "object" } }] }), "tools.0.name: must be a non-empty string"],
    ["a tool schema that is not an object", request({ tools: [{ name: "t", input_schema: { type: "string" } }] }), 'tools.0.input_schema.type: must be "object"'],
    ["duplicate tool names", request({ tools: [{ name: "t", input_schema: { type: "object" } }, { name: "t", input_schema: { type: "object" } }] }), 'tools: tool names must be unique, "t" appears twice'],
    ["no messages", request({ messages: [] }), "messages: must be a non-empty array"],
    ["an assistant first", request({ messages: [assistant("hi")] }), 'messages.0.role: the first message must use the "user" role'],
    ["two user messages in a row", request({ messages: [user("a"), user("b")] }), 'messages.1.role: roles must alternate between "user" and "assistant", but found two "user" messages in a row'],
    ["a system role message", request({ messages: [{ role: "system", content: "x" }] }), 'messages.0.role: must be "user" or "assistant"'],
    ["an empty text block", request({ messages: [user([{ type: "text", text: "" }])] }), "messages.0.content.0.text: text content blocks must be non-empty"],
    ["empty content before the end", request({ messages: [user("a"), assistant([]), user("b")] }), "messages.1.content: must be non-empty"],
    ["an unanswered tool_use", request({ messages: [user("a"), assistant([toolUseBlock("toolu_x"), toolUseBlock("toolu_y")]), user([toolResult("toolu_x")])] }), "messages.1: tool_use ids were found without tool_result blocks immediately after: toolu_y."],
    ["a trailing tool_use", request({ messages: [user("a"), assistant([toolUseBlock("toolu_x")])] }), "messages.1: tool_use ids were found without tool_result blocks immediately after: toolu_x."],
    ["a tool_result for an unknown id", request({ messages: [user("a"), assistant([toolUseBlock("toolu_x")]), user([toolResult("toolu_x"), toolResult("toolu_z")])] }), "messages.2: unexpected tool_use_id found in tool_result blocks: toolu_z."],
    ["a tool_result in the first message", request({ messages: [user([toolResult("toolu_x")])] }), "messages.0: unexpected tool_use_id found in tool_result blocks: toolu_x."],
  ])("rejects %s", (_name, body, expected) => {
    expect(findProtocolViolation(body)).toContain(expected);
  });
});
