import { BSON, Timestamp } from "bson";
import { bsonTypeAlias, cloneDocument, compareValues, isPlainDocument, isRegex, valuesEqual, type Doc } from "./bson-values.js";
import { badValue, CommandError, notSupported } from "./errors.js";
import { addNumbers, isNumeric } from "./numbers.js";
import { assignPath, lookupPath, removePath, splitPath } from "./paths.js";
import { compileCondition, compileFilter, isOperatorDocument } from "./query.js";

/** A compiled update document (operator update or replacement). */
export interface UpdatePlan {
  /** True for a replacement document, which cannot be applied to many documents. */
  readonly isReplacement: boolean;
  /**
   * Returns the updated copy of `doc` (never modifies it). `inserting` is true when `doc` is an
   * upsert's seed, which enables `$setOnInsert`.
   */
  apply(doc: Doc, inserting: boolean): Doc;
}

/** Changes one field path of a document in place. */
type FieldChange = (doc: Doc, segments: string[], path: string) => void;

/** Validates an operator's argument for one path and returns the change it makes. */
type OperatorCompiler = (operand: unknown, path: string) => FieldChange;

interface PlannedChange {
  path: string;
  segments: string[];
  change: FieldChange;
  onInsertOnly: boolean;
}

/** Compiles an update document; unknown operators and unsupported features fail here. */
export function compileUpdate(spec: unknown): UpdatePlan {
  if (Array.isArray(spec)) throw notSupported("pipeline-style update");
  if (!isPlainDocument(spec)) throw badValue("update must be an object");
  const keys = Object.keys(spec);
  const operatorCount = keys.filter((key) => key.startsWith("$")).length;
  if (operatorCount === 0) return replacementPlan(spec);
  if (operatorCount !== keys.length) throw badValue("an update document cannot mix update operators and plain fields");
  return operatorPlan(spec);
}

/** The error for an update that changes `_id`. */
export function immutableIdError(): CommandError {
  return new CommandError("ImmutableField", "Performing an update on the path '_id' would modify the immutable field '_id'");
}

function replacementPlan(replacement: Doc): UpdatePlan {
  return {
    isReplacement: true,
    apply(doc) {
      const { _id: replacementId, ...fields } = replacement;
      if (doc._id !== undefined && replacementId !== undefined && !valuesEqual(doc._id, replacementId)) throw immutableIdError();
      const _id = doc._id ?? replacementId;
      return _id === undefined ? { ...fields } : { _id, ...fields };
    },
  };
}

function operatorPlan(spec: Doc): UpdatePlan {
  const changes: PlannedChange[] = [];
  for (const [operator, fields] of Object.entries(spec)) {
    const compile = operator === "$setOnInsert" ? OPERATORS.$set : OPERATORS[operator];
    if (!compile) {
      if (UNSUPPORTED_OPERATORS.has(operator)) throw notSupported(`update operator ${operator}`);
      throw new CommandError("FailedToParse", `Unknown modifier: ${operator}. Expected a valid update modifier`);
    }
    if (!isPlainDocument(fields)) throw new CommandError("FailedToParse", `Modifiers operate on fields but we found a ${bsonTypeAlias(fields)} instead: ${operator}`);
    for (const path of Object.keys(fields).sort(compareFieldNames)) {
      const segments = splitPath(path);
      if (segments.some((segment) => segment.startsWith("$"))) throw notSupported(`positional update path '${path}'`);
      changes.push({ path, segments, change: compile(fields[path], path), onInsertOnly: operator === "$setOnInsert" });
    }
  }
  checkConflicts([...changes.map(({ path }) => path), ...renameTargets(spec)]);
  return {
    isReplacement: false,
    apply(doc, inserting) {
      const updated = cloneDocument(doc);
      for (const { path, segments, change, onInsertOnly } of changes) {
        if (inserting || !onInsertOnly) change(updated, segments, path);
      }
      return updated;
    },
  };
}

/** Since MongoDB 5.0 fields are updated in lexicographic order, numeric names numerically. */
function compareFieldNames(a: string, b: string): number {
  const numeric = /^\d+$/;
  if (numeric.test(a) && numeric.test(b)) return Number(a) - Number(b);
  return a < b ? -1 : a > b ? 1 : 0;
}

function renameTargets(spec: Doc): string[] {
  return isPlainDocument(spec.$rename) ? Object.values(spec.$rename).map(String) : [];
}

function checkConflicts(paths: string[]): void {
  for (const [i, a] of paths.entries()) {
    for (const b of paths.slice(i + 1)) {
      if (a === b || a.startsWith(`${b}.`) || b.startsWith(`${a}.`)) {
        throw new CommandError("ConflictingUpdateOperators", `Updating the path '${a}' would create a conflict at '${b}'`);
      }
    }
  }
}

function show(value: unknown): string {
  return BSON.EJSON.stringify(value, { relaxed: true });
}

/** The array currently at a path ([] when missing); anything else is an error. */
function existingArray(doc: Doc, segments: string[], path: string, operator: string): unknown[] {
  const current = lookupPath(doc, segments);
  if (current === undefined) return [];
  if (!Array.isArray(current)) {
    throw badValue(`Cannot apply ${operator} to the non-array field '${path}' of type ${bsonTypeAlias(current)} in document {_id: ${show(doc._id)}}`);
  }
  return current;
}

/** The items of `$push`/`$addToSet`: a single value or `{$each: [...]}`. */
function itemsToAdd(operand: unknown, operator: string): unknown[] {
  if (!isPlainDocument(operand) || !("$each" in operand)) return [operand];
  for (const modifier of Object.keys(operand)) {
    if (modifier !== "$each") throw notSupported(`${operator} modifier ${modifier}`);
  }
  if (!Array.isArray(operand.$each)) throw badValue(`The argument to $each in ${operator} must be an array`);
  return operand.$each;
}

const set: OperatorCompiler = (value) => (doc, segments) => assignPath(doc, segments, value);

const unset: OperatorCompiler = () => (doc, segments) => removePath(doc, segments);

const inc: OperatorCompiler = (operand, path) => {
  if (!isNumeric(operand)) throw new CommandError("TypeMismatch", `Cannot increment with non-numeric argument: {${path}: ${show(operand)}}`);
  return (doc, segments) => {
    const current = lookupPath(doc, segments);
    if (current !== undefined && !isNumeric(current)) {
      throw new CommandError(
        "TypeMismatch",
        `Cannot apply $inc to a value of non-numeric type. {_id: ${show(doc._id)}} has the field '${path}' of non-numeric type ${bsonTypeAlias(current)}`,
      );
    }
    assignPath(doc, segments, current === undefined ? operand : addNumbers(current, operand));
  };
};

/** `$min` (direction -1) and `$max` (direction 1): set when the operand is beyond the current value. */
function extreme(direction: 1 | -1): OperatorCompiler {
  return (operand) => (doc, segments) => {
    const current = lookupPath(doc, segments);
    if (current === undefined || compareValues(operand, current) * direction > 0) assignPath(doc, segments, operand);
  };
}

const currentDate: OperatorCompiler = (operand, path) => {
  const type = isPlainDocument(operand) ? operand.$type : operand === true ? "date" : undefined;
  if (type !== "date" && type !== "timestamp") throw badValue(`$currentDate for '${path}' must be true or {$type: "date" | "timestamp"}`);
  return (doc, segments) => {
    const now = new Date();
    assignPath(doc, segments, type === "date" ? now : new Timestamp({ t: Math.floor(now.getTime() / 1000), i: 1 }));
  };
};

const push: OperatorCompiler = (operand) => {
  const items = itemsToAdd(operand, "$push");
  return (doc, segments, path) => assignPath(doc, segments, [...existingArray(doc, segments, path, "$push"), ...items]);
};

const addToSet: OperatorCompiler = (operand) => {
  const items = itemsToAdd(operand, "$addToSet");
  return (doc, segments, path) => {
    const result = [...existingArray(doc, segments, path, "$addToSet")];
    for (const item of items) if (!result.some((present) => valuesEqual(present, item))) result.push(item);
    assignPath(doc, segments, result);
  };
};

/** `$pull` removes elements equal to a value, matching a condition, or (documents) matching a query. */
const pull: OperatorCompiler = (operand) => {
  let matches: (element: unknown) => boolean;
  if (isPlainDocument(operand) && !isOperatorDocument(operand)) {
    const predicate = compileFilter(operand);
    matches = (element) => isPlainDocument(element) && predicate(element);
  } else {
    const test = isRegex(operand) || isOperatorDocument(operand) ? compileCondition(operand) : undefined;
    matches = test ? (element) => test([element]) : (element) => valuesEqual(element, operand);
  }
  return (doc, segments, path) => {
    if (lookupPath(doc, segments) === undefined) return;
    assignPath(doc, segments, existingArray(doc, segments, path, "$pull").filter((element) => !matches(element)));
  };
};

const rename: OperatorCompiler = (operand, path) => {
  if (typeof operand !== "string" || operand === path) throw badValue(`$rename target for '${path}' must be a different field name`);
  const target = splitPath(operand);
  return (doc, segments) => {
    const value = lookupPath(doc, segments);
    if (value === undefined) return;
    removePath(doc, segments);
    assignPath(doc, target, value);
  };
};

const OPERATORS: Record<string, OperatorCompiler> = {
  $set: set,
  $unset: unset,
  $inc: inc,
  $min: extreme(-1),
  $max: extreme(1),
  $currentDate: currentDate,
  $push: push,
  $addToSet: addToSet,
  $pull: pull,
  $rename: rename,
};

/** Real MongoDB update operators the fake refuses rather than applying wrongly. */
const UNSUPPORTED_OPERATORS = new Set(["$mul", "$pop", "$pullAll", "$bit"]);

/**
 * The document an upsert starts from: the filter's equality conditions (`{a: 1}`,
 * `{a: {$eq: 1}}`, dotted paths, and those inside `$and`), as MongoDB derives it.
 */
export function upsertSeed(filter: Doc): Doc {
  const seed: Doc = {};
  const collect = (conditions: Doc): void => {
    for (const [key, condition] of Object.entries(conditions)) {
      if (key === "$and" && Array.isArray(condition)) condition.filter(isPlainDocument).forEach(collect);
      else if (key.startsWith("$") || isRegex(condition)) continue;
      else if (!isOperatorDocument(condition)) assignPath(seed, splitPath(key), condition);
      else if ("$eq" in condition) assignPath(seed, splitPath(key), condition.$eq);
    }
  };
  collect(filter);
  return seed;
}
