import type { ToolName } from "../contract";

/** A JSON schema for a tool's input, in the subset Kiln's tools use (and Claude reads). */
export interface InputSchema {
  type: "object";
  properties: Record<string, { type: "string" | "integer" | "boolean"; description: string; maxLength?: number; minimum?: number; maximum?: number }>;
  required: string[];
}

/** What a tool hands back to the model: text, and whether it is an error the model should react to. */
export interface ToolOutput {
  content: string;
  isError?: boolean;
  /** Set by `attempt_completion` when the work is accepted: the run ends with this summary. */
  completed?: { summary: string };
  /** Set when the run must end as failed (the completion gate gave up): the run ends with this reason. */
  failed?: { reason: string };
}

/** A tool: its name, description and schema beside the handler that runs it. */
export interface Tool {
  name: ToolName;
  description: string;
  inputSchema: InputSchema;
  /** Runs with input already validated against `inputSchema`. */
  run(input: Record<string, unknown>, signal: AbortSignal): Promise<ToolOutput>;
}

/** Raised for input that does not match a tool's schema; becomes an `is_error` tool result naming the field. */
export class ToolInputError extends Error {}

/** Checks `input` against `schema`; throws ToolInputError naming the first bad field. */
export function validateInput(schema: InputSchema, input: unknown): Record<string, unknown> {
  if (typeof input !== "object" || input === null || Array.isArray(input)) throw new ToolInputError("input must be a JSON object");
  const record = input as Record<string, unknown>;
  for (const field of schema.required) {
    if (record[field] === undefined) throw new ToolInputError(`${field}: is required`);
  }
  for (const [field, value] of Object.entries(record)) {
    const spec = schema.properties[field];
    if (!spec) throw new ToolInputError(`${field}: is not a field of this tool (expected ${Object.keys(schema.properties).join(", ")})`);
    if (value === undefined || value === null) continue;
    const ok = spec.type === "integer" ? Number.isInteger(value) : typeof value === spec.type;
    if (!ok) throw new ToolInputError(`${field}: must be ${spec.type === "integer" ? "an integer" : `a ${spec.type}`}`);
    if (spec.maxLength !== undefined && typeof value === "string" && value.length > spec.maxLength) {
      throw new ToolInputError(`${field}: must be at most ${spec.maxLength} characters, got ${value.length}`);
    }
    if (typeof value === "number" && ((spec.minimum !== undefined && value < spec.minimum) || (spec.maximum !== undefined && value > spec.maximum))) {
      throw new ToolInputError(`${field}: must be from ${spec.minimum} to ${spec.maximum}`);
    }
  }
  return record;
}

/** Keeps the head and tail of a long text and says how much of the middle was dropped. */
export function capText(text: string, maxChars: number): string {
  if (text.length <= maxChars) return text;
  const half = Math.floor(maxChars / 2);
  const dropped = text.length - 2 * half;
  return `${text.slice(0, half)}\n[... ${dropped} characters omitted ...]\n${text.slice(text.length - half)}`;
}
