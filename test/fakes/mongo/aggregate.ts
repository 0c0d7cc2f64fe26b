import { Int32, Long } from "bson";
import { cloneDocument, isPlainDocument, type Doc } from "./bson-values.js";
import { badValue, notSupported } from "./errors.js";
import { compileGroup } from "./group.js";
import { toInteger } from "./numbers.js";
import { assignPath, lookupPath, removePath, splitPath } from "./paths.js";
import { compileProjection } from "./projection.js";
import { compileFilter } from "./query.js";
import { compileSort } from "./sort.js";

/** One compiled pipeline stage. */
type Stage = (docs: Doc[]) => Doc[];

function integerArgument(stage: string, spec: unknown, minimum: number): number {
  const value = toInteger(spec);
  if (value === undefined || value < minimum) throw badValue(`invalid argument to ${stage} stage: ${String(spec)}`);
  return value;
}

const STAGES: Record<string, (spec: unknown) => Stage> = {
  $match: (spec) => {
    const matches = compileFilter(spec);
    return (docs) => docs.filter(matches);
  },
  $sort: (spec) => {
    if (!isPlainDocument(spec) || Object.keys(spec).length === 0) throw badValue("$sort stage must have at least one sort key");
    return compileSort(spec);
  },
  $skip: (spec) => {
    const count = integerArgument("$skip", spec, 0);
    return (docs) => docs.slice(count);
  },
  $limit: (spec) => {
    const count = integerArgument("$limit", spec, 1);
    return (docs) => docs.slice(0, count);
  },
  $project: (spec) => {
    const project = compileProjection(spec, { computedFields: true });
    return (docs) => docs.map(project);
  },
  $group: compileGroup,
  $count: (spec) => {
    if (typeof spec !== "string" || spec === "" || spec.startsWith("$") || spec.includes(".")) {
      throw badValue("the $count field must be a non-empty string without '$' or '.'");
    }
    return (docs) => (docs.length > 0 ? [{ [spec]: new Int32(docs.length) }] : []);
  },
  $unwind: compileUnwind,
};

/**
 * `$unwind: "$path"` or `{path, preserveNullAndEmptyArrays, includeArrayIndex}`: one output
 * document per array element; a non-array value passes through as if it were a one-element array.
 */
function compileUnwind(spec: unknown): Stage {
  const options = typeof spec === "string" ? { path: spec } : spec;
  if (!isPlainDocument(options) || typeof options.path !== "string" || !options.path.startsWith("$")) {
    throw badValue("$unwind needs a field path starting with '$'");
  }
  for (const key of Object.keys(options)) {
    if (!["path", "preserveNullAndEmptyArrays", "includeArrayIndex"].includes(key)) throw badValue(`unrecognized option to $unwind: ${key}`);
  }
  const segments = splitPath(options.path.slice(1));
  const preserve = options.preserveNullAndEmptyArrays === true;
  const indexPath = typeof options.includeArrayIndex === "string" ? splitPath(options.includeArrayIndex) : undefined;

  /** A copy of `doc` with the unwound field set to `element` (removed if undefined). */
  const unwound = (doc: Doc, element: unknown, index: number | null): Doc => {
    const copy = cloneDocument(doc);
    if (element === undefined) removePath(copy, segments);
    else assignPath(copy, segments, element);
    if (indexPath) assignPath(copy, indexPath, index === null ? null : Long.fromNumber(index));
    return copy;
  };
  return (docs) =>
    docs.flatMap((doc) => {
      const value = lookupPath(doc, segments);
      if (!Array.isArray(value)) {
        if (value !== undefined && value !== null) return [unwound(doc, value, null)];
        return preserve ? [unwound(doc, value, null)] : [];
      }
      if (value.length === 0) return preserve ? [unwound(doc, undefined, null)] : [];
      return value.map((element, index) => unwound(doc, element, index));
    });
}

/**
 * Compiles an aggregation pipeline made of the supported stages ($match, $sort, $skip, $limit,
 * $project, $group, $count, $unwind); any other stage is refused before anything runs.
 */
export function compilePipeline(pipeline: unknown): Stage {
  if (!Array.isArray(pipeline)) throw badValue("'pipeline' must be an array");
  const stages = pipeline.map((stage): Stage => {
    if (!isPlainDocument(stage) || Object.keys(stage).length !== 1) {
      throw badValue("A pipeline stage specification object must contain exactly one field.");
    }
    const [[name, spec]] = Object.entries(stage);
    const compile = STAGES[name];
    if (!compile) {
      if (name.startsWith("$")) throw notSupported(`aggregation stage ${name}`);
      throw badValue(`Unrecognized pipeline stage name: '${name}'`);
    }
    return compile(spec);
  });
  return (docs) => stages.reduce((current, stage) => stage(current), docs);
}
