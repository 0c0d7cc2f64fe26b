import { isPlainDocument, type Doc } from "./bson-values.js";
import { notSupported } from "./errors.js";
import { splitPath } from "./paths.js";

/** A compiled aggregation expression, evaluated against one document; undefined means missing. */
export type Expression = (doc: Doc) => unknown;

/**
 * Compiles the subset of aggregation expressions the fake supports: field paths ("$a.b"),
 * `$$ROOT`/`$$CURRENT`, `{$literal: v}`, objects and arrays of expressions, and constants.
 * Expression operators such as `$concat` are refused.
 */
export function compileExpression(spec: unknown): Expression {
  if (typeof spec === "string" && spec.startsWith("$")) return compileFieldPath(spec);
  if (Array.isArray(spec)) {
    const items = spec.map(compileExpression);
    return (doc) => items.map((item) => item(doc) ?? null);
  }
  if (isPlainDocument(spec)) {
    const [first] = Object.keys(spec);
    if (first?.startsWith("$")) {
      if (first === "$literal" && Object.keys(spec).length === 1) return () => spec.$literal;
      throw notSupported(`aggregation expression operator ${first}`);
    }
    const fields = Object.entries(spec).map(([name, value]) => [name, compileExpression(value)] as const);
    return (doc) => {
      const result: Doc = {};
      for (const [name, expression] of fields) {
        const value = expression(doc);
        if (value !== undefined) result[name] = value;
      }
      return result;
    };
  }
  return () => spec;
}

function compileFieldPath(path: string): Expression {
  if (path.startsWith("$$")) {
    const [variable, ...rest] = path.slice(2).split(".");
    if (variable !== "ROOT" && variable !== "CURRENT") throw notSupported(`aggregation variable $$${variable}`);
    return (doc) => resolveFieldPath(doc, rest);
  }
  const segments = splitPath(path.slice(1));
  return (doc) => resolveFieldPath(doc, segments);
}

/**
 * Aggregation field-path semantics: crossing an array maps the rest of the path over its
 * elements, giving an array of the values found (missing ones dropped).
 */
function resolveFieldPath(value: unknown, segments: readonly string[], depth = 0): unknown {
  if (depth === segments.length) return value;
  if (Array.isArray(value)) {
    return value.map((element) => resolveFieldPath(element, segments, depth)).filter((found) => found !== undefined);
  }
  return isPlainDocument(value) ? resolveFieldPath(value[segments[depth]], segments, depth + 1) : undefined;
}
