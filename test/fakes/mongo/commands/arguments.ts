import { Long } from "bson";
import { isPlainDocument, type Doc } from "../bson-values.js";
import type { FirstBatchOptions } from "../cursors.js";
import { badValue, notSupported } from "../errors.js";
import { toInteger } from "../numbers.js";

/** Fields drivers attach to any command; they do not change what an in-memory standalone does. */
const GENERIC_FIELDS = [
  "$db",
  "lsid",
  "$clusterTime",
  "$readPreference",
  "txnNumber",
  "readConcern",
  "writeConcern",
  "apiVersion",
  "apiStrict",
  "apiDeprecationErrors",
  "comment",
  "maxTimeMS",
];

/** Refuses any field of `doc` not listed in `known`: an ignored option could change the result. */
export function rejectUnknownFields(doc: Doc, known: readonly string[], context: string): void {
  for (const field of Object.keys(doc)) {
    if (!known.includes(field)) throw notSupported(`option '${field}' of ${context}`);
  }
}

/** The fields of a command other than its name and the generic fields. */
export function specificFields(command: Doc): string[] {
  return Object.keys(command)
    .slice(1)
    .filter((field) => !GENERIC_FIELDS.includes(field));
}

/** `rejectUnknownFields` for a whole command: its name and the generic fields are always allowed. */
export function checkCommandFields(command: Doc, known: readonly string[]): void {
  const [name] = Object.keys(command);
  rejectUnknownFields(command, [name, ...known, ...GENERIC_FIELDS], `the ${name} command`);
}

/** The collection a command targets: the string value of its first field. */
export function collectionArgument(command: Doc): string {
  const [name] = Object.keys(command);
  const collection = command[name];
  if (typeof collection !== "string" || collection === "") throw badValue(`collection name for ${name} must be a non-empty string`);
  return collection;
}

/** An optional non-negative integer argument. */
export function integerArgument(value: unknown, name: string): number | undefined {
  if (value === undefined) return undefined;
  const integer = toInteger(value);
  if (integer === undefined || integer < 0) throw badValue(`${name} must be a non-negative integer`);
  return integer;
}

/** An optional boolean argument (numbers count as their truthiness, as the server does). */
export function booleanArgument(value: unknown, name: string, fallback = false): boolean {
  if (value === undefined) return fallback;
  if (typeof value === "boolean") return value;
  const integer = toInteger(value);
  if (integer === undefined) throw badValue(`${name} must be a boolean`);
  return integer !== 0;
}

/** An optional embedded-document argument. */
export function documentArgument(value: unknown, name: string): Doc | undefined {
  if (value === undefined) return undefined;
  if (!isPlainDocument(value)) throw badValue(`${name} must be an object`);
  return value;
}

/** A required array argument. */
export function arrayArgument(value: unknown, name: string): unknown[] {
  if (!Array.isArray(value)) throw badValue(`${name} must be an array`);
  return value;
}

/** A cursor id as sent by the driver (a Long). */
export function cursorIdArgument(value: unknown): bigint {
  if (value instanceof Long) return value.toBigInt();
  const integer = toInteger(value);
  if (integer === undefined) throw badValue("cursor id must be an integer");
  return BigInt(integer);
}

/** The `cursor: {batchSize}` option of aggregate, listIndexes and listCollections. */
export function cursorOptions(value: unknown): FirstBatchOptions {
  const cursor = documentArgument(value, "cursor") ?? {};
  rejectUnknownFields(cursor, ["batchSize"], "the cursor option");
  return { batchSize: integerArgument(cursor.batchSize, "cursor.batchSize") };
}
