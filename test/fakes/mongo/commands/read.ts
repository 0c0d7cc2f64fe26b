import { Long } from "bson";
import { canonicalKey, compareValues, type Doc } from "../bson-values.js";
import { compilePipeline } from "../aggregate.js";
import { badValue, notSupported } from "../errors.js";
import { splitPath, valuesAlongPath } from "../paths.js";
import { compileProjection } from "../projection.js";
import { selectDocuments } from "../select.js";
import { toInteger } from "../numbers.js";
import {
  arrayArgument,
  booleanArgument,
  checkCommandFields,
  collectionArgument,
  cursorIdArgument,
  cursorOptions,
  documentArgument,
  integerArgument,
} from "./arguments.js";
import type { CommandContext, CommandHandler } from "./context.js";

/** The documents `filter` can match in a collection (see `Collection.candidates`). */
function storedDocuments(context: CommandContext, collection: string, filter?: unknown): Doc[] {
  return context.store.collection(context.databaseName, collection)?.candidates(filter) ?? [];
}

const find: CommandHandler = (command, context) => {
  checkCommandFields(command, [
    "filter",
    "sort",
    "projection",
    "skip",
    "limit",
    "batchSize",
    "singleBatch",
    "hint",
    "noCursorTimeout",
    "allowDiskUse",
    "allowPartialResults",
  ]);
  const collection = collectionArgument(command);
  const project = compileProjection(documentArgument(command.projection, "projection") ?? {}, { computedFields: false });
  const filter = documentArgument(command.filter, "filter");
  const docs = selectDocuments(storedDocuments(context, collection, filter), {
    filter,
    sort: command.sort,
    skip: integerArgument(command.skip, "skip"),
    limit: integerArgument(command.limit, "limit"),
  });
  return context.cursors.firstBatch(`${context.databaseName}.${collection}`, docs.map(project), {
    batchSize: integerArgument(command.batchSize, "batchSize"),
    singleBatch: booleanArgument(command.singleBatch, "singleBatch"),
  });
};

const getMore: CommandHandler = (command, context) => {
  checkCommandFields(command, ["collection", "batchSize"]);
  const namespace = `${context.databaseName}.${String(command.collection)}`;
  return context.cursors.nextBatch(cursorIdArgument(command.getMore), namespace, integerArgument(command.batchSize, "batchSize"));
};

const killCursors: CommandHandler = (command, context) => {
  checkCommandFields(command, ["cursors"]);
  const { killed, notFound } = context.cursors.kill(arrayArgument(command.cursors, "cursors").map(cursorIdArgument));
  const asLongs = (ids: bigint[]) => ids.map((id) => Long.fromBigInt(id));
  return { cursorsKilled: asLongs(killed), cursorsNotFound: asLongs(notFound), cursorsAlive: [], cursorsUnknown: [], ok: 1 };
};

const count: CommandHandler = (command, context) => {
  checkCommandFields(command, ["query", "skip", "limit", "hint"]);
  const docs = selectDocuments(storedDocuments(context, collectionArgument(command)), {
    filter: documentArgument(command.query, "query"),
    skip: integerArgument(command.skip, "skip"),
    limit: Math.abs(toInteger(command.limit) ?? 0),
  });
  return { n: docs.length, ok: 1 };
};

/** Distinct values at a path, array elements counted individually, in BSON order. */
const distinct: CommandHandler = (command, context) => {
  checkCommandFields(command, ["key", "query", "hint"]);
  if (typeof command.key !== "string") throw badValue("distinct key must be a string");
  const segments = splitPath(command.key);
  const docs = selectDocuments(storedDocuments(context, collectionArgument(command)), {
    filter: documentArgument(command.query, "query"),
  });
  const values = new Map<string, unknown>();
  for (const doc of docs) {
    for (const value of valuesAlongPath(doc, segments).flat()) {
      if (value !== undefined && !values.has(canonicalKey(value))) values.set(canonicalKey(value), value);
    }
  }
  return { values: [...values.values()].sort(compareValues), ok: 1 };
};

const aggregate: CommandHandler = (command, context) => {
  checkCommandFields(command, ["pipeline", "cursor", "allowDiskUse", "hint", "bypassDocumentValidation"]);
  if (typeof command.aggregate !== "string") throw notSupported("aggregate without a collection (aggregate: 1)");
  const run = compilePipeline(command.pipeline);
  const options = cursorOptions(command.cursor);
  const results = run(storedDocuments(context, command.aggregate));
  return context.cursors.firstBatch(`${context.databaseName}.${command.aggregate}`, results, options);
};

/** Query commands: find and its cursors, count, distinct, aggregate. */
export const readCommands: Record<string, CommandHandler> = { find, getMore, killCursors, count, distinct, aggregate };
