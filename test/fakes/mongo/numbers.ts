import { Double, Int32, Long, type Decimal128 } from "bson";
import { notSupported } from "./errors.js";

/** A BSON number as it appears in stored documents (wrappers) or in values the fake computes. */
export type NumericValue = number | bigint | Int32 | Double | Long | Decimal128;

/** The BSON numeric type of a value, named like MongoDB's `$type` aliases. */
export type NumericKind = "int" | "long" | "double" | "decimal";

const INT32_MIN = -(2 ** 31);
const INT32_MAX = 2 ** 31 - 1;
const INT64_MIN = -(2n ** 63n);
const INT64_MAX = 2n ** 63n - 1n;

/** The numeric kind of `value`, or undefined if it is not a number. */
export function numericKind(value: unknown): NumericKind | undefined {
  if (typeof value === "number") {
    return Number.isInteger(value) && value >= INT32_MIN && value <= INT32_MAX ? "int" : "double";
  }
  if (typeof value === "bigint") return "long";
  switch ((value as { _bsontype?: string } | null)?._bsontype) {
    case "Int32":
      return "int";
    case "Double":
      return "double";
    case "Long":
      return "long";
    case "Decimal128":
      return "decimal";
    default:
      return undefined;
  }
}

/** True for every BSON number type (Int32, Long, Double, Decimal128, plain JS numbers). */
export function isNumeric(value: unknown): value is NumericValue {
  return numericKind(value) !== undefined;
}

/** The value as a JS double (lossy for huge Longs and Decimal128). */
export function toDouble(value: NumericValue): number {
  if (typeof value === "number") return value;
  if (typeof value === "bigint") return Number(value);
  if (value instanceof Int32 || value instanceof Double) return value.value;
  if (value instanceof Long) return value.toNumber();
  return Number(value.toString());
}

/** The exact integer value, or undefined for fractional/non-finite numbers and Decimal128. */
function exactInteger(value: NumericValue): bigint | undefined {
  if (typeof value === "bigint") return value;
  if (value instanceof Long) return value.toBigInt();
  if (numericKind(value) === "decimal") return undefined;
  const double = toDouble(value);
  return Number.isInteger(double) ? BigInt(double) : undefined;
}

/** Numeric comparison across BSON number types; NaN sorts below every other number. */
export function compareNumbers(a: NumericValue, b: NumericValue): number {
  const intA = exactInteger(a);
  const intB = exactInteger(b);
  if (intA !== undefined && intB !== undefined) return intA === intB ? 0 : intA < intB ? -1 : 1;
  const x = toDouble(a);
  const y = toDouble(b);
  if (Number.isNaN(x) || Number.isNaN(y)) return Number(Number.isNaN(y)) - Number(Number.isNaN(x));
  return x === y ? 0 : x < y ? -1 : 1;
}

/**
 * Adds two numbers with MongoDB's type rules: any Double makes a Double, any Long makes a Long,
 * Int32 + Int32 stays Int32 unless it overflows into a Long; a Long overflow becomes a Double.
 */
export function addNumbers(a: NumericValue, b: NumericValue): NumericValue {
  const kinds = [numericKind(a), numericKind(b)];
  if (kinds.includes("decimal")) throw notSupported("Decimal128 arithmetic");
  if (kinds.includes("double")) return new Double(toDouble(a) + toDouble(b));
  const sum = (exactInteger(a) ?? 0n) + (exactInteger(b) ?? 0n);
  if (!kinds.includes("long") && sum >= BigInt(INT32_MIN) && sum <= BigInt(INT32_MAX)) {
    return new Int32(Number(sum));
  }
  if (sum >= INT64_MIN && sum <= INT64_MAX) return Long.fromBigInt(sum);
  return new Double(Number(sum));
}

/** The value as a JS integer if it is a number with an integral value, else undefined. */
export function toInteger(value: unknown): number | undefined {
  if (!isNumeric(value)) return undefined;
  const double = toDouble(value);
  return Number.isInteger(double) ? double : undefined;
}
