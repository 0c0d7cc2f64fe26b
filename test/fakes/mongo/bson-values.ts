import { BSON, type Binary, type BSONRegExp, type ObjectId, type Timestamp } from "bson";
import { compareNumbers, numericKind, toDouble, type NumericValue } from "./numbers.js";

/** A BSON document as the fake holds it in memory. */
export type Doc = Record<string, unknown>;

/**
 * How every document entering the fake is decoded: numbers stay Int32/Double/Long wrappers and
 * regexes stay BSONRegExp, so re-encoding a stored document reproduces the client's bytes exactly.
 */
const DECODE_OPTIONS = { promoteValues: false, promoteBuffers: false, bsonRegExp: true } as const;

/** Decodes one BSON document with the fake's lossless options. */
export function decodeDocument(bytes: Uint8Array): Doc {
  return BSON.deserialize(bytes, DECODE_OPTIONS);
}

/** Encodes a document to BSON. */
export function encodeDocument(doc: Doc): Uint8Array {
  return BSON.serialize(doc);
}

/** A deep copy that shares nothing with `doc` (BSON round trip). */
export function cloneDocument(doc: Doc): Doc {
  return decodeDocument(encodeDocument(doc));
}

/** True if both documents encode to the same bytes (same fields, order and types). */
export function sameBytes(a: Doc, b: Doc): boolean {
  return Buffer.from(encodeDocument(a)).equals(encodeDocument(b));
}

/** True for an embedded document (not an array, not a BSON value wrapper, not a Date). */
export function isPlainDocument(value: unknown): value is Doc {
  if (typeof value !== "object" || value === null || Array.isArray(value)) return false;
  const proto = Object.getPrototypeOf(value);
  return proto === Object.prototype || proto === null;
}

/** True for a regular expression value (decoded documents hold them as BSONRegExp). */
export function isRegex(value: unknown): value is BSONRegExp {
  return bsonTag(value) === "BSONRegExp";
}

/** MongoDB's `$type` alias of a value; missing (undefined) reports "missing". */
export type BsonTypeAlias =
  | "missing"
  | "minKey"
  | "null"
  | "double"
  | "int"
  | "long"
  | "decimal"
  | "string"
  | "symbol"
  | "object"
  | "array"
  | "binData"
  | "objectId"
  | "bool"
  | "date"
  | "timestamp"
  | "regex"
  | "javascript"
  | "javascriptWithScope"
  | "maxKey";

function bsonTag(value: unknown): string | undefined {
  return (value as { _bsontype?: string } | null | undefined)?._bsontype;
}

/** The `$type` alias of any in-memory BSON value. */
export function bsonTypeAlias(value: unknown): BsonTypeAlias {
  if (value === undefined) return "missing";
  if (value === null) return "null";
  const numeric = numericKind(value);
  if (numeric) return numeric;
  if (typeof value === "string") return "string";
  if (typeof value === "boolean") return "bool";
  if (Array.isArray(value)) return "array";
  if (value instanceof Date) return "date";
  switch (bsonTag(value)) {
    case "MinKey":
      return "minKey";
    case "MaxKey":
      return "maxKey";
    case "BSONSymbol":
      return "symbol";
    case "Binary":
      return "binData";
    case "ObjectId":
      return "objectId";
    case "Timestamp":
      return "timestamp";
    case "BSONRegExp":
      return "regex";
    case "Code":
      return (value as { scope?: unknown }).scope ? "javascriptWithScope" : "javascript";
    default:
      return "object";
  }
}

/** Position of each type in MongoDB's cross-type sort order (missing sorts like null). */
const TYPE_ORDER: Record<BsonTypeAlias, number> = {
  minKey: 1,
  missing: 2,
  null: 2,
  double: 3,
  int: 3,
  long: 3,
  decimal: 3,
  string: 4,
  symbol: 4,
  object: 5,
  array: 6,
  binData: 7,
  objectId: 8,
  bool: 9,
  date: 10,
  timestamp: 11,
  regex: 12,
  javascript: 13,
  javascriptWithScope: 14,
  maxKey: 15,
};

/** The canonical type bracket of a value: values only compare by content within one bracket. */
export function typeBracket(value: unknown): number {
  return TYPE_ORDER[bsonTypeAlias(value)];
}

function sign(n: number): number {
  return n < 0 ? -1 : n > 0 ? 1 : 0;
}

/**
 * Orders UTF-16 code units like the code points they belong to: surrogates (astral characters)
 * move above U+E000..U+FFFF, which they precede in plain UTF-16 order.
 */
function codePointOrder(unit: number): number {
  if (unit >= 0xd800 && unit <= 0xdfff) return unit + 0x2000;
  return unit >= 0xe000 ? unit - 0x800 : unit;
}

/** Compares strings by code point, which is the binary UTF-8 order MongoDB uses. */
function compareStrings(a: string, b: string): number {
  if (a === b) return 0;
  const length = Math.min(a.length, b.length);
  for (let i = 0; i < length; i++) {
    const x = a.charCodeAt(i);
    const y = b.charCodeAt(i);
    if (x !== y) return sign(codePointOrder(x) - codePointOrder(y));
  }
  return sign(a.length - b.length);
}

function compareBytes(a: Uint8Array, b: Uint8Array): number {
  return sign(Buffer.compare(Buffer.from(a.buffer, a.byteOffset, a.length), Buffer.from(b.buffer, b.byteOffset, b.length)));
}

function stringContent(value: unknown): string {
  return typeof value === "string" ? value : String((value as { value: string }).value);
}

function compareDocuments(a: Doc, b: Doc): number {
  const left = Object.entries(a).filter(([, v]) => v !== undefined);
  const right = Object.entries(b).filter(([, v]) => v !== undefined);
  const length = Math.min(left.length, right.length);
  for (let i = 0; i < length; i++) {
    const byType = typeBracket(left[i][1]) - typeBracket(right[i][1]);
    if (byType !== 0) return sign(byType);
    const byName = compareStrings(left[i][0], right[i][0]);
    if (byName !== 0) return byName;
    const byValue = compareValues(left[i][1], right[i][1]);
    if (byValue !== 0) return byValue;
  }
  return sign(left.length - right.length);
}

function compareArrays(a: unknown[], b: unknown[]): number {
  const length = Math.min(a.length, b.length);
  for (let i = 0; i < length; i++) {
    const result = compareValues(a[i], b[i]);
    if (result !== 0) return result;
  }
  return sign(a.length - b.length);
}

/**
 * Total order over BSON values following MongoDB's comparison rules: first by type bracket
 * (numbers of all kinds share one), then by content. Missing (undefined) compares like null.
 */
export function compareValues(a: unknown, b: unknown): number {
  if (typeof a === "string" && typeof b === "string") return compareStrings(a, b);
  const byType = typeBracket(a) - typeBracket(b);
  if (byType !== 0) return sign(byType);
  switch (bsonTypeAlias(a)) {
    case "double":
    case "int":
    case "long":
    case "decimal":
      return compareNumbers(a as NumericValue, b as NumericValue);
    case "string":
    case "symbol":
      return compareStrings(stringContent(a), stringContent(b));
    case "object":
      return compareDocuments(a as Doc, b as Doc);
    case "array":
      return compareArrays(a as unknown[], b as unknown[]);
    case "binData": {
      const [x, y] = [a as Binary, b as Binary];
      return sign(x.length() - y.length()) || sign(x.sub_type - y.sub_type) || compareBytes(x.value(), y.value());
    }
    case "objectId":
      return compareBytes((a as ObjectId).id, (b as ObjectId).id);
    case "bool":
      return sign(Number(a) - Number(b));
    case "date":
      return sign((a as Date).getTime() - (b as Date).getTime());
    case "timestamp": {
      const [x, y] = [a as Timestamp, b as Timestamp];
      return sign(x.t - y.t) || sign(x.i - y.i);
    }
    case "regex": {
      const [x, y] = [a as BSONRegExp, b as BSONRegExp];
      return compareStrings(x.pattern, y.pattern) || compareStrings(x.options, y.options);
    }
    case "javascript":
    case "javascriptWithScope":
      return compareStrings(String((a as { code: unknown }).code), String((b as { code: unknown }).code));
    default:
      return 0;
  }
}

/** BSON equality as MongoDB defines it (1, 1.0 and Long(1) are equal; field order matters). */
export function valuesEqual(a: unknown, b: unknown): boolean {
  return compareValues(a, b) === 0;
}

/**
 * A string that is identical for values MongoDB considers equal, for hashing them in maps
 * (unique indexes, `$group` keys, `distinct`, `$addToSet`).
 */
export function canonicalKey(value: unknown): string {
  const alias = bsonTypeAlias(value);
  switch (alias) {
    case "missing":
    case "null":
      return "null";
    case "double":
    case "int":
    case "long":
    case "decimal":
      return `n:${canonicalNumber(value as NumericValue)}`;
    case "string":
    case "symbol":
      return `s:${JSON.stringify(stringContent(value))}`;
    case "object":
      return `{${Object.entries(value as Doc)
        .filter(([, v]) => v !== undefined)
        .map(([k, v]) => `${JSON.stringify(k)}:${canonicalKey(v)}`)
        .join(",")}}`;
    case "array":
      return `[${(value as unknown[]).map(canonicalKey).join(",")}]`;
    default:
      return `${alias}:${BSON.EJSON.stringify({ v: value }, { relaxed: false })}`;
  }
}

function canonicalNumber(value: NumericValue): string {
  if (numericKind(value) === "long") return value.toString();
  const double = toDouble(value);
  return Number.isInteger(double) && Math.abs(double) < 2 ** 63 ? BigInt(double).toString() : String(double);
}
