import { BSON } from "bson";
import { isPlainDocument, type Doc } from "./bson-values.js";
import { badValue, CommandError } from "./errors.js";

/** Splits a dotted field path ("a.b.0") into its segments, rejecting empty segments. */
export function splitPath(path: string): string[] {
  const segments = path.split(".");
  if (segments.some((segment) => segment === "")) throw badValue(`invalid field path '${path}': empty field name`);
  return segments;
}

function isArrayIndex(segment: string): boolean {
  return /^(0|[1-9][0-9]*)$/.test(segment);
}

/**
 * Every value a query path reaches, MongoDB style: a path crossing an array fans out into the
 * array's embedded documents, and a numeric segment also indexes the array. A path that reaches
 * nothing yields `[undefined]` (missing). The final values are not expanded: callers decide
 * whether an array at the end of the path is compared whole or element by element.
 */
export function valuesAlongPath(root: unknown, segments: readonly string[]): unknown[] {
  return walkPath(root, segments, 0);
}

function walkPath(value: unknown, segments: readonly string[], depth: number): unknown[] {
  if (depth === segments.length) return [value];
  const segment = segments[depth];
  if (Array.isArray(value)) {
    const found: unknown[] = [];
    if (isArrayIndex(segment) && Number(segment) < value.length) found.push(...walkPath(value[Number(segment)], segments, depth + 1));
    for (const element of value) if (isPlainDocument(element)) found.push(...walkPath(element, segments, depth));
    return found.length > 0 ? found : [undefined];
  }
  return isPlainDocument(value) ? walkPath(value[segment], segments, depth + 1) : [undefined];
}

/** The single value at a path (numeric segments index arrays, nothing fans out), or undefined. */
export function lookupPath(root: unknown, segments: readonly string[]): unknown {
  let value = root;
  for (const segment of segments) {
    if (Array.isArray(value) && isArrayIndex(segment)) value = value[Number(segment)];
    else if (isPlainDocument(value)) value = value[segment];
    else return undefined;
  }
  return value;
}

function pathNotViable(segment: string, parentName: string, parent: unknown): CommandError {
  const shown = BSON.EJSON.stringify(parent, { relaxed: true });
  return new CommandError("PathNotViable", `Cannot create field '${segment}' in element {${parentName}: ${shown}}`);
}

/**
 * Sets the value at a path, creating missing embedded documents on the way and padding arrays
 * with nulls when a numeric segment indexes past their end. Fails (code 28) when the path runs
 * into a scalar or names a non-numeric field of an array.
 */
export function assignPath(root: Doc, segments: readonly string[], value: unknown): void {
  let container: unknown = root;
  let containerName = "";
  for (const [depth, segment] of segments.entries()) {
    let record: Record<string | number, unknown>;
    let key: string | number;
    if (Array.isArray(container) && isArrayIndex(segment)) {
      key = Number(segment);
      while (container.length < key) container.push(null);
      record = container as unknown as Record<number, unknown>;
    } else if (isPlainDocument(container)) {
      key = segment;
      record = container;
    } else {
      throw pathNotViable(segment, containerName, container);
    }
    if (depth === segments.length - 1) {
      record[key] = value;
      return;
    }
    if (record[key] === undefined) record[key] = {};
    container = record[key];
    containerName = segment;
  }
}

/** Removes the value at a path; an array element is replaced by null, as `$unset` does. */
export function removePath(root: Doc, segments: readonly string[]): void {
  const parent = lookupPath(root, segments.slice(0, -1));
  const last = segments[segments.length - 1];
  if (Array.isArray(parent) && isArrayIndex(last)) {
    if (Number(last) < parent.length) parent[Number(last)] = null;
  } else if (isPlainDocument(parent)) {
    delete parent[last];
  }
}
