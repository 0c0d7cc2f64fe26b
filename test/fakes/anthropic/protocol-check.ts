/**
 * The request validation the real Messages API does that an agent loop can get wrong.
 * Messages name the offending field by path, like the API's (`messages.3: …`).
 */

type Json = Record<string, unknown>;

/** The first rule `body` breaks, or undefined when it is a valid Messages request. */
export function findProtocolViolation(body: unknown): string | undefined {
  if (!isObject(body)) return "body: must be a JSON object";
  return checkModel(body.model) ?? checkMaxTokens(body.max_tokens) ?? checkTools(body.tools) ?? checkMessages(body.messages);
}

function checkModel(model: unknown): string | undefined {
  if (typeof model !== "string" || model === "") return "model: must be a non-empty string";
}

function checkMaxTokens(maxTokens: unknown): string | undefined {
  if (!Number.isInteger(maxTokens) || (maxTokens as number) < 1) return "max_tokens: must be a positive integer";
}

function checkTools(tools: unknown): string | undefined {
  if (tools === undefined) return undefined;
  if (!Array.isArray(tools)) return "tools: must be an array";
  const names = new Set<string>();
  for (const [i, tool] of tools.entries()) {
    if (!isObject(tool) || typeof tool.name !== "string" || tool.name === "") return `tools.${i}.name: must be a non-empty string`;
    if (!isObject(tool.input_schema) || tool.input_schema.type !== "object") return `tools.${i}.input_schema.type: must be "object"`;
    if (names.has(tool.name)) return `tools: tool names must be unique, "${tool.name}" appears twice`;
    names.add(tool.name);
  }
}

function checkMessages(messages: unknown): string | undefined {
  if (!Array.isArray(messages) || messages.length === 0) return "messages: must be a non-empty array";
  for (const [i, message] of messages.entries()) {
    const problem = checkMessageShape(messages, i) ?? checkToolPairing(messages, i);
    if (problem) return `messages.${i}${problem}`;
  }
}

/** Role order and content of message `i`; a problem is returned as a path suffix and text. */
function checkMessageShape(messages: unknown[], i: number): string | undefined {
  const message = messages[i];
  if (!isObject(message)) return ": must be an object";
  if (message.role !== "user" && message.role !== "assistant") {
    return `.role: must be "user" or "assistant" (use the top-level system parameter for instructions)`;
  }
  if (i === 0 && message.role !== "user") return `.role: the first message must use the "user" role`;
  if (i > 0 && roleOf(messages[i - 1]) === message.role) {
    return `.role: roles must alternate between "user" and "assistant", but found two "${message.role}" messages in a row`;
  }
  const blocks = contentBlocks(message);
  if (blocks === undefined) return ".content: must be a string or an array of content blocks";
  const isFinalAssistant = i === messages.length - 1 && message.role === "assistant";
  if (blocks.length === 0 && !isFinalAssistant) return ".content: must be non-empty (only a final assistant message may be empty)";
  for (const [j, block] of blocks.entries()) {
    if (!isObject(block) || typeof block.type !== "string") return `.content.${j}.type: must be a string`;
    if (block.type === "text" && (typeof block.text !== "string" || block.text === "")) {
      return `.content.${j}.text: text content blocks must be non-empty`;
    }
  }
}

/** tool_use blocks of an assistant message must be answered by tool_result blocks in the next message, and vice versa. */
function checkToolPairing(messages: unknown[], i: number): string | undefined {
  const role = roleOf(messages[i]);
  if (role === "assistant") {
    const answered = new Set(idsOf(messages[i + 1], "tool_result"));
    const missing = idsOf(messages[i], "tool_use").filter((id) => !answered.has(id));
    if (missing.length > 0) {
      return `: tool_use ids were found without tool_result blocks immediately after: ${missing.join(", ")}. Each tool_use block must have a corresponding tool_result block in the next message.`;
    }
    return undefined;
  }
  const asked = new Set(i > 0 ? idsOf(messages[i - 1], "tool_use") : []);
  const unexpected = idsOf(messages[i], "tool_result").filter((id) => !asked.has(id));
  if (unexpected.length > 0) {
    return `: unexpected tool_use_id found in tool_result blocks: ${unexpected.join(", ")}. Each tool_result block must have a corresponding tool_use block in the previous message.`;
  }
}

/** The tool_use `id`s or tool_result `tool_use_id`s in a message (empty for anything else). */
function idsOf(message: unknown, type: "tool_use" | "tool_result"): string[] {
  const key = type === "tool_use" ? "id" : "tool_use_id";
  return (isObject(message) ? (contentBlocks(message) ?? []) : []).flatMap((block) =>
    isObject(block) && block.type === type ? [String(block[key])] : [],
  );
}

function contentBlocks(message: Json): unknown[] | undefined {
  if (typeof message.content === "string") return message.content === "" ? [] : [{ type: "text", text: message.content }];
  return Array.isArray(message.content) ? message.content : undefined;
}

function roleOf(message: unknown): unknown {
  return isObject(message) ? message.role : undefined;
}

function isObject(value: unknown): value is Json {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}
