import { invalidArgument } from "./errors";
import { pathParams, usesQuery, type FieldKind, type Route } from "./routes";

/** A query string value as HTTP frameworks hand it over: absent, once, or repeated. */
export type QueryValue = string | string[] | undefined;

/** A decimal number as Encore's query decoder reads one (`i64`/`f64` parse): no hex, no spaces, no empty text. */
const DECIMAL = /^[+-]?(\d+\.?\d*|\.\d+)(e[+-]?\d+)?$/i;

function coerceScalar(field: string, kind: "string" | "number" | "boolean", text: string): string | number | boolean {
  if (kind === "string") return text;
  if (kind === "number") {
    const value = DECIMAL.test(text) ? Number(text) : NaN;
    if (!Number.isFinite(value)) throw invalidArgument(field, `must be a number, got ${JSON.stringify(text)}`);
    return value;
  }
  if (text === "true" || text === "1") return true;
  if (text === "false" || text === "0") return false;
  throw invalidArgument(field, `must be true or false, got ${JSON.stringify(text)}`);
}

/** Decodes one path or query field to its declared kind, with an error naming the field. */
export function coerceField(field: string, kind: FieldKind, value: QueryValue): unknown {
  if (value === undefined) return undefined;
  if (kind.endsWith("[]")) {
    const element = kind.slice(0, -2) as "string" | "number" | "boolean";
    const items = Array.isArray(value) ? value : [value];
    return items.map((item) => coerceScalar(field, element, item));
  }
  if (Array.isArray(value)) throw invalidArgument(field, "must be given once, not as a list");
  return coerceScalar(field, kind as "string" | "number" | "boolean", value);
}

/** Refuses a NUL character anywhere in a request: no text column or file name can hold one. */
function refuseNul(value: unknown, field: string): void {
  if (typeof value === "string") {
    if (value.includes("\u0000")) throw invalidArgument(field, "must not contain a NUL character (U+0000)");
  } else if (Array.isArray(value)) {
    value.forEach((item, i) => refuseNul(item, `${field}[${i}]`));
  } else if (typeof value === "object" && value !== null) {
    for (const [key, item] of Object.entries(value)) refuseNul(item, field ? `${field}.${key}` : key);
  }
}

/**
 * Builds a contract method's request from an HTTP request, with Encore's semantics: path params by
 * name; for GET/DELETE every other field from the query string, decoded to its declared kind; for
 * POST/PUT/PATCH a JSON object body (path params win over body fields of the same name).
 */
export function decodeRequest(
  route: Route,
  params: Record<string, string>,
  query: Record<string, QueryValue>,
  body: unknown,
): Record<string, unknown> {
  const request: Record<string, unknown> = {};
  if (usesQuery(route.method)) {
    for (const [field, kind] of Object.entries(route.fields ?? {})) {
      const value = coerceField(field, kind, params[field] ?? query[field]);
      if (value !== undefined) request[field] = value;
    }
  } else {
    if (body !== undefined && body !== null) {
      if (typeof body !== "object" || Array.isArray(body)) throw invalidArgument("body", "must be a JSON object");
      Object.assign(request, body);
    }
    for (const name of pathParams(route.path)) request[name] = params[name];
  }
  refuseNul(request, "");
  return request;
}

/** The URL path of a route with its params filled in (each value URL-encoded). */
export function fillPath(path: string, request: Record<string, unknown>): string {
  return path
    .split("/")
    .map((segment) => {
      if (!/^[:*!]/.test(segment)) return segment;
      const value = request[segment.slice(1)];
      if (value === undefined || value === null || value === "") {
        throw invalidArgument(segment.slice(1), "is required (it is part of the path)");
      }
      return segment.startsWith(":") ? encodeURIComponent(String(value)) : String(value).split("/").map(encodeURIComponent).join("/");
    })
    .join("/");
}

/** How a client sends a contract request: the URL path with query string, and the JSON body if any. */
export function encodeRequest(route: Route, request: Record<string, unknown> = {}): { path: string; body?: string } {
  const path = fillPath(route.path, request);
  const inPath = new Set(pathParams(route.path));
  const rest = Object.entries(request).filter(([key, value]) => !inPath.has(key) && value !== undefined);
  if (!usesQuery(route.method)) return { path, body: JSON.stringify(Object.fromEntries(rest)) };
  const query = new URLSearchParams();
  for (const [key, value] of rest) {
    for (const item of Array.isArray(value) ? value : [value]) query.append(key, String(item));
  }
  const text = query.toString();
  return { path: text ? `${path}?${text}` : path };
}
