import { BSONRegExp } from "bson";
import {
  bsonTypeAlias,
  compareValues,
  isPlainDocument,
  isRegex,
  typeBracket,
  valuesEqual,
  type BsonTypeAlias,
  type Doc,
} from "./bson-values.js";
import { badValue, notSupported } from "./errors.js";
import { toInteger } from "./numbers.js";
import { splitPath, valuesAlongPath } from "./paths.js";

/** A compiled query filter. */
export type DocumentPredicate = (doc: Doc) => boolean;

/** A test over the values a path reaches in one document (see `valuesAlongPath`). */
export type ValuesTest = (values: unknown[]) => boolean;

/** Real MongoDB operators the fake refuses rather than answering wrongly. */
const UNSUPPORTED_OPERATORS = new Set([
  "$expr",
  "$where",
  "$text",
  "$jsonSchema",
  "$mod",
  "$bitsAllSet",
  "$bitsAllClear",
  "$bitsAnySet",
  "$bitsAnyClear",
  "$geoWithin",
  "$geoIntersects",
  "$near",
  "$nearSphere",
  "$sampleRate",
]);

/**
 * Compiles a MongoDB query filter into a predicate. All validation happens here, so an
 * unknown or unsupported operator fails even when there is no document to test.
 */
export function compileFilter(filter: unknown): DocumentPredicate {
  if (!isPlainDocument(filter)) throw badValue("query filter must be an object");
  const clauses = Object.entries(filter).map(([key, condition]) => compileClause(key, condition));
  return (doc) => clauses.every((clause) => clause(doc));
}

function compileClause(key: string, condition: unknown): DocumentPredicate {
  if (key.startsWith("$")) return compileTopLevelOperator(key, condition);
  const segments = splitPath(key);
  const test = compileCondition(condition);
  return (doc) => test(valuesAlongPath(doc, segments));
}

function compileTopLevelOperator(operator: string, operand: unknown): DocumentPredicate {
  switch (operator) {
    case "$and":
    case "$or":
    case "$nor": {
      if (!Array.isArray(operand) || operand.length === 0) throw badValue(`${operator} must be a nonempty array`);
      const parts = operand.map(compileFilter);
      if (operator === "$and") return (doc) => parts.every((part) => part(doc));
      if (operator === "$or") return (doc) => parts.some((part) => part(doc));
      return (doc) => !parts.some((part) => part(doc));
    }
    case "$comment":
      return () => true;
    default:
      if (UNSUPPORTED_OPERATORS.has(operator)) throw notSupported(`query operator ${operator}`);
      throw badValue(`unknown top level operator: ${operator}`);
  }
}

/** True for `{$op: ...}` documents (as opposed to an embedded document compared for equality). */
export function isOperatorDocument(value: unknown): value is Doc {
  return isPlainDocument(value) && Object.keys(value)[0]?.startsWith("$") === true;
}

/** Compiles the condition given for one path: an operator document, a regex, or a value to equal. */
export function compileCondition(condition: unknown): ValuesTest {
  if (isOperatorDocument(condition)) return compileOperators(condition);
  if (isRegex(condition)) return anyElement(regexTest(condition, undefined));
  return equalityTest(condition);
}

function compileOperators(operators: Doc): ValuesTest {
  const tests: ValuesTest[] = [];
  for (const [operator, operand] of Object.entries(operators)) {
    if (operator === "$options") {
      if (!("$regex" in operators)) throw badValue("$options needs a $regex");
      continue;
    }
    tests.push(compileOperator(operator, operand, operators));
  }
  return (values) => tests.every((test) => test(values));
}

function compileOperator(operator: string, operand: unknown, siblings: Doc): ValuesTest {
  switch (operator) {
    case "$eq":
      return equalityTest(operand);
    case "$ne":
      return negate(equalityTest(operand));
    case "$gt":
    case "$gte":
    case "$lt":
    case "$lte":
      return comparisonTest(operator, operand);
    case "$in":
      return inTest(operand);
    case "$nin":
      return negate(inTest(operand));
    case "$exists": {
      const wanted = Boolean(toInteger(operand) ?? operand);
      return (values) => values.some((value) => value !== undefined) === wanted;
    }
    case "$regex":
      return anyElement(regexTest(operand, siblings.$options));
    case "$not":
      if (isRegex(operand)) return negate(anyElement(regexTest(operand, undefined)));
      if (isOperatorDocument(operand)) return negate(compileOperators(operand));
      throw badValue("$not needs a regex or a document");
    case "$size": {
      const size = toInteger(operand);
      if (size === undefined || size < 0) throw badValue("$size needs a non-negative integer");
      return (values) => values.some((value) => Array.isArray(value) && value.length === size);
    }
    case "$elemMatch":
      return elemMatchTest(operand);
    case "$all":
      return allTest(operand);
    case "$type":
      return typeTest(operand);
    default:
      if (UNSUPPORTED_OPERATORS.has(operator)) throw notSupported(`query operator ${operator}`);
      throw badValue(`unknown operator: ${operator}`);
  }
}

function negate(test: ValuesTest): ValuesTest {
  return (values) => !test(values);
}

/** Applies a value test to each reached value and, for arrays, to each of their elements. */
function anyElement(test: (value: unknown) => boolean): ValuesTest {
  return (values) => values.some((value) => test(value) || (Array.isArray(value) && value.some(test)));
}

function equalityTest(expected: unknown): ValuesTest {
  return anyElement((value) => valuesEqual(value, expected));
}

const COMPARISONS: Record<string, (order: number) => boolean> = {
  $gt: (order) => order > 0,
  $gte: (order) => order >= 0,
  $lt: (order) => order < 0,
  $lte: (order) => order <= 0,
};

/** Range operators only match values of the operand's type bracket (numbers with numbers...). */
function comparisonTest(operator: string, operand: unknown): ValuesTest {
  const accepts = COMPARISONS[operator];
  const operandType = bsonTypeAlias(operand);
  const crossesTypes = operandType === "minKey" || operandType === "maxKey";
  return anyElement(
    (value) => (crossesTypes || typeBracket(value) === typeBracket(operand)) && accepts(compareValues(value, operand)),
  );
}

function inTest(operand: unknown): ValuesTest {
  if (!Array.isArray(operand)) throw badValue("$in needs an array");
  const matchers = operand.map((candidate): ((value: unknown) => boolean) => {
    if (isRegex(candidate)) return regexTest(candidate, undefined);
    if (isOperatorDocument(candidate)) throw badValue("cannot nest $ under $in");
    return (value) => valuesEqual(value, candidate);
  });
  return anyElement((value) => matchers.some((matches) => matches(value)));
}

const REGEX_FLAGS: Record<string, string> = { i: "i", m: "m", s: "s", u: "" };

/** Builds a JS RegExp from `$regex` (string or regex) plus optional `$options`. */
function toJsRegExp(pattern: unknown, options: unknown): RegExp {
  let source: string;
  let flags: string;
  if (typeof pattern === "string") {
    source = pattern;
    flags = options === undefined ? "" : String(options);
  } else if (isRegex(pattern)) {
    if (options !== undefined && pattern.options !== "") throw badValue("options set in both $regex and $options");
    [source, flags] = [pattern.pattern, pattern.options || String(options ?? "")];
  } else {
    throw badValue("$regex has to be a string");
  }
  const jsFlags = [...flags]
    .map((flag) => {
      if (flag === "x") throw notSupported("regex option 'x' (extended)");
      if (!(flag in REGEX_FLAGS)) throw badValue(`invalid flag in regex options: ${flag}`);
      return REGEX_FLAGS[flag];
    })
    .join("");
  try {
    return new RegExp(source, jsFlags);
  } catch (error) {
    throw badValue(`Regular expression is invalid: ${(error as Error).message}`);
  }
}

function regexTest(pattern: unknown, options: unknown): (value: unknown) => boolean {
  const regex = toJsRegExp(pattern, options);
  const literal = typeof pattern === "string" ? new BSONRegExp(pattern, String(options ?? "")) : pattern;
  return (value) => (typeof value === "string" ? regex.test(value) : isRegex(value) && valuesEqual(value, literal));
}

function elemMatchTest(operand: unknown): ValuesTest {
  if (!isPlainDocument(operand)) throw badValue("$elemMatch needs an Object");
  const firstKey = Object.keys(operand)[0] ?? "";
  let elementMatches: (element: unknown) => boolean;
  if (isOperatorDocument(operand) && !["$and", "$or", "$nor"].includes(firstKey)) {
    const test = compileOperators(operand);
    elementMatches = (element) => test([element]);
  } else {
    const predicate = compileFilter(operand);
    elementMatches = (element) => isPlainDocument(element) && predicate(element);
  }
  return (values) => values.some((value) => Array.isArray(value) && value.some(elementMatches));
}

function allTest(operand: unknown): ValuesTest {
  if (!Array.isArray(operand)) throw badValue("$all needs an array");
  const tests = operand.map((item) => {
    if (isOperatorDocument(item)) throw notSupported("$all with operator expressions");
    return isRegex(item) ? anyElement(regexTest(item, undefined)) : equalityTest(item);
  });
  return (values) => tests.length > 0 && tests.every((test) => test(values));
}

const TYPE_CODES: Record<number, BsonTypeAlias> = {
  1: "double",
  2: "string",
  3: "object",
  4: "array",
  5: "binData",
  7: "objectId",
  8: "bool",
  9: "date",
  10: "null",
  11: "regex",
  13: "javascript",
  14: "symbol",
  15: "javascriptWithScope",
  16: "int",
  17: "timestamp",
  18: "long",
  19: "decimal",
  [-1]: "minKey",
  127: "maxKey",
};
const NUMBER_TYPES: readonly string[] = ["double", "int", "long", "decimal"];
const TYPE_ALIASES = new Set<string>([...Object.values(TYPE_CODES), "number"]);

function typeTest(operand: unknown): ValuesTest {
  const wanted = (Array.isArray(operand) ? operand : [operand]).map((type) => {
    const code = toInteger(type);
    const alias = code === undefined ? type : TYPE_CODES[code];
    if (typeof alias !== "string" || !TYPE_ALIASES.has(alias)) throw badValue(`unknown type name alias or code: ${String(type)}`);
    return alias;
  });
  return anyElement((value) => {
    const alias = bsonTypeAlias(value);
    return wanted.includes(alias) || (wanted.includes("number") && NUMBER_TYPES.includes(alias));
  });
}
