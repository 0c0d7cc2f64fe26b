import { BSON } from "bson";
import { isPlainDocument, type Doc } from "./bson-values.js";
import { badValue, notSupported } from "./errors.js";
import { compileExpression, type Expression } from "./expressions.js";
import { isNumeric, toDouble } from "./numbers.js";
import { assignPath, splitPath } from "./paths.js";
import { isOperatorDocument } from "./query.js";

/** A compiled projection producing a new document (the input is never modified). */
export type Projector = (doc: Doc) => Doc;

/** Where a projection comes from: `find` allows only 0/1 flags, `$project` also computed fields. */
export interface ProjectionOptions {
  computedFields: boolean;
}

/** Nested field names selected by a projection; `true` marks a selected leaf. */
type PathTree = Map<string, PathTree | true>;

/**
 * Compiles an inclusion (`{a: 1, "b.c": 1}`) or exclusion (`{a: 0}`) projection. `_id` is kept
 * unless `_id: 0`; mixing inclusion and exclusion of other fields is an error. With
 * `computedFields`, values like `"$other.path"` compute new fields (inclusion mode).
 */
export function compileProjection(spec: unknown, { computedFields }: ProjectionOptions): Projector {
  if (!isPlainDocument(spec)) throw badValue("projection must be an object");
  const entries = flattenSpec(spec, "");
  if (entries.length === 0) {
    if (computedFields) throw badValue("$project requires at least one output field");
    return (doc) => doc;
  }
  let keepId = true;
  const included: string[][] = [];
  const excluded: string[][] = [];
  const computed: [string[], Expression][] = [];
  for (const [path, value] of entries) {
    const flag = projectionFlag(value);
    if (flag !== undefined && path === "_id") keepId = flag;
    else if (flag !== undefined) (flag ? included : excluded).push(splitPath(path));
    else if (computedFields) {
      computed.push([splitPath(path), compileExpression(value)]);
      if (path === "_id") keepId = false;
    } else throw notSupported(`projection value ${BSON.EJSON.stringify(value)} for field '${path}'`);
  }
  if (excluded.length > 0 && included.length + computed.length > 0) {
    throw badValue(`Cannot do exclusion on field ${excluded[0].join(".")} in inclusion projection`);
  }
  buildTree([...included, ...computed.map(([segments]) => segments)]);
  if (excluded.length > 0 || (included.length === 0 && computed.length === 0 && !keepId)) {
    const tree = buildTree(keepId ? excluded : [...excluded, ["_id"]]);
    return (doc) => exclude(doc, tree);
  }
  const tree = buildTree(keepId ? [["_id"], ...included] : included);
  return (doc) => {
    const result = include(doc, tree);
    for (const [segments, expression] of computed) {
      const value = expression(doc);
      if (value !== undefined) assignPath(result, segments, value);
    }
    return result;
  };
}

/** Nested sub-projections (`{a: {b: 1}}`) become dotted paths (`a.b`). */
function flattenSpec(spec: Doc, prefix: string): [string, unknown][] {
  return Object.entries(spec).flatMap(([key, value]): [string, unknown][] => {
    const path = prefix + key;
    if (!isPlainDocument(value) || isOperatorDocument(value)) return [[path, value]];
    if (Object.keys(value).length === 0) throw badValue(`An empty sub-projection is not a valid value for '${path}'`);
    return flattenSpec(value, `${path}.`);
  });
}

/** true/false for inclusion/exclusion flags (booleans and numbers), undefined for anything else. */
function projectionFlag(value: unknown): boolean | undefined {
  if (typeof value === "boolean") return value;
  return isNumeric(value) ? toDouble(value) !== 0 : undefined;
}

function buildTree(paths: readonly string[][]): PathTree {
  const root: PathTree = new Map();
  for (const segments of paths) {
    let node = root;
    for (const [depth, segment] of segments.entries()) {
      const existing = node.get(segment);
      const isLast = depth === segments.length - 1;
      if (existing === true || (isLast && existing !== undefined)) throw badValue(`Path collision at ${segments.join(".")}`);
      if (isLast) node.set(segment, true);
      else {
        const child: PathTree = existing ?? new Map();
        node.set(segment, child);
        node = child;
      }
    }
  }
  return root;
}

function include(doc: Doc, tree: PathTree): Doc {
  const result: Doc = {};
  for (const [key, value] of Object.entries(doc)) {
    const node = tree.get(key);
    if (node === true) result[key] = value;
    else if (node) {
      const projected = includeNested(value, node);
      if (projected !== undefined) result[key] = projected;
    }
  }
  return result;
}

function includeNested(value: unknown, tree: PathTree): unknown {
  if (isPlainDocument(value)) return include(value, tree);
  if (Array.isArray(value)) return value.map((element) => includeNested(element, tree)).filter((kept) => kept !== undefined);
  return undefined;
}

function exclude(doc: Doc, tree: PathTree): Doc {
  const result: Doc = {};
  for (const [key, value] of Object.entries(doc)) {
    const node = tree.get(key);
    if (node !== true) result[key] = node ? excludeNested(value, node) : value;
  }
  return result;
}

function excludeNested(value: unknown, tree: PathTree): unknown {
  if (isPlainDocument(value)) return exclude(value, tree);
  return Array.isArray(value) ? value.map((element) => excludeNested(element, tree)) : value;
}
