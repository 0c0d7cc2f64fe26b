import { invalidArgument } from "./errors";

/** A required string, trimmed, of `min`..`max` characters; errors name the field. */
export function requireText(field: string, value: unknown, limits: { min: number; max: number }): string {
  if (typeof value !== "string") throw invalidArgument(field, value === undefined ? "is required" : `must be a string, got ${typeOf(value)}`);
  const text = value.trim();
  if (text.length < limits.min) throw invalidArgument(field, limits.min === 1 ? "must not be empty" : `must be at least ${limits.min} characters`);
  if (text.length > limits.max) throw invalidArgument(field, `must be at most ${limits.max} characters, got ${text.length}`);
  return text;
}

/** An optional string (undefined stays undefined), trimmed, of at most `max` characters. */
export function optionalText(field: string, value: unknown, max: number): string | undefined {
  if (value === undefined || value === null) return undefined;
  return requireText(field, value, { min: 0, max });
}

/** An optional boolean. */
export function optionalBoolean(field: string, value: unknown): boolean | undefined {
  if (value === undefined || value === null) return undefined;
  if (typeof value !== "boolean") throw invalidArgument(field, `must be true or false, got ${typeOf(value)}`);
  return value;
}

/** A page size: `fallback` when absent, else an integer from 1 to `max`. */
export function pageLimit(field: string, value: unknown, fallback: number, max: number): number {
  if (value === undefined || value === null) return fallback;
  if (typeof value !== "number" || !Number.isInteger(value) || value < 1 || value > max) {
    throw invalidArgument(field, `must be an integer from 1 to ${max}`);
  }
  return value;
}

function typeOf(value: unknown): string {
  return value === null ? "null" : Array.isArray(value) ? "array" : typeof value;
}
