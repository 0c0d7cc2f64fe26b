import { isPlainDocument, type Doc } from "../bson-values.js";
import { badValue, CommandError, notSupported } from "../errors.js";
import { toInteger } from "../numbers.js";
import { compileFilter } from "../query.js";
import type { Collection, IndexDescription } from "../store.js";
import {
  arrayArgument,
  booleanArgument,
  checkCommandFields,
  collectionArgument,
  cursorOptions,
  documentArgument,
  rejectUnknownFields,
} from "./arguments.js";
import type { CommandContext, CommandHandler } from "./context.js";

function existingCollection(context: CommandContext, name: string): Collection {
  const collection = context.store.collection(context.databaseName, name);
  if (!collection) throw new CommandError("NamespaceNotFound", `ns does not exist: ${context.databaseName}.${name}`);
  return collection;
}

const create: CommandHandler = (command, context) => {
  checkCommandFields(command, []);
  const name = collectionArgument(command);
  if (context.store.collection(context.databaseName, name)) {
    throw new CommandError("NamespaceExists", `Collection ${context.databaseName}.${name} already exists.`);
  }
  context.store.ensureCollection(context.databaseName, name);
  return { ok: 1 };
};

/** Like MongoDB 7.0+, dropping a collection that does not exist succeeds. */
const drop: CommandHandler = (command, context) => {
  checkCommandFields(command, []);
  context.store.dropCollection(context.databaseName, collectionArgument(command));
  return { ok: 1 };
};

const dropDatabase: CommandHandler = (command, context) => {
  checkCommandFields(command, []);
  context.store.dropDatabase(context.databaseName);
  return { ok: 1 };
};

function collectionInfo(collection: Collection): Doc {
  return {
    name: collection.name,
    type: "collection",
    options: {},
    info: { readOnly: false, uuid: collection.uuid },
    idIndex: { v: 2, key: { _id: 1 }, name: "_id_" },
  };
}

const listCollections: CommandHandler = (command, context) => {
  checkCommandFields(command, ["filter", "nameOnly", "cursor", "authorizedCollections"]);
  const matches = compileFilter(documentArgument(command.filter, "filter") ?? {});
  const nameOnly = booleanArgument(command.nameOnly, "nameOnly");
  const entries = context.store
    .collections(context.databaseName)
    .map(collectionInfo)
    .filter(matches)
    .map((info) => (nameOnly ? { name: info.name, type: info.type } : info));
  return context.cursors.firstBatch(`${context.databaseName}.$cmd.listCollections`, entries, cursorOptions(command.cursor));
};

const listDatabases: CommandHandler = (command, context) => {
  checkCommandFields(command, ["nameOnly", "filter", "authorizedDatabases"]);
  const matches = compileFilter(documentArgument(command.filter, "filter") ?? {});
  const nameOnly = booleanArgument(command.nameOnly, "nameOnly");
  const databases = context.store
    .databaseNames()
    .map((name) => ({ name, sizeOnDisk: 0, empty: false }))
    .filter(matches)
    .map((entry) => (nameOnly ? { name: entry.name } : entry));
  return { databases, totalSize: 0, totalSizeMb: 0, ok: 1 };
};

/** Parses one entry of `createIndexes.indexes`; only ascending/descending keys and `unique` are supported. */
function indexDescription(value: unknown): IndexDescription {
  if (!isPlainDocument(value)) throw badValue("each index specification must be an object");
  rejectUnknownFields(value, ["key", "name", "unique", "background", "v"], "an index specification");
  const key = documentArgument(value.key, "index key");
  if (!key || Object.keys(key).length === 0) throw badValue("index key pattern must be a non-empty object");
  for (const [field, direction] of Object.entries(key)) {
    const order = toInteger(direction);
    if (order !== 1 && order !== -1) throw notSupported(`index type ${JSON.stringify(String(direction))} on '${field}'`);
  }
  if (typeof value.name !== "string" || value.name === "") throw badValue("index name must be a non-empty string");
  const unique = booleanArgument(value.unique, "unique");
  return { v: 2, key, name: value.name, ...(unique ? { unique: true } : {}) };
}

const createIndexes: CommandHandler = (command, context) => {
  checkCommandFields(command, ["indexes", "commitQuorum"]);
  const name = collectionArgument(command);
  const descriptions = arrayArgument(command.indexes, "indexes").map(indexDescription);
  const existed = context.store.collection(context.databaseName, name) !== undefined;
  const collection = context.store.ensureCollection(context.databaseName, name);
  const before = collection.indexDescriptions().length;
  for (const description of descriptions) collection.createIndex(description);
  const after = collection.indexDescriptions().length;
  return {
    createdCollectionAutomatically: !existed,
    numIndexesBefore: before,
    numIndexesAfter: after,
    ...(before === after ? { note: "all indexes already exist" } : {}),
    ok: 1,
  };
};

const listIndexes: CommandHandler = (command, context) => {
  checkCommandFields(command, ["cursor"]);
  const collection = existingCollection(context, collectionArgument(command));
  return context.cursors.firstBatch(collection.namespace, collection.indexDescriptions(), cursorOptions(command.cursor));
};

/** `index` may be a name, "*", a key pattern, or a list of names. */
const dropIndexes: CommandHandler = (command, context) => {
  checkCommandFields(command, ["index"]);
  const collection = existingCollection(context, collectionArgument(command));
  const nIndexesWas = collection.indexDescriptions().length;
  const target = command.index;
  const names = Array.isArray(target) ? target : [isPlainDocument(target) ? collection.indexNameForKey(target) : target];
  for (const name of names) {
    if (typeof name !== "string") throw new CommandError("IndexNotFound", `can't find index with key: ${JSON.stringify(target)}`);
    collection.dropIndex(name);
  }
  return { nIndexesWas, ok: 1 };
};

/** Collection, database and index management commands. */
export const catalogCommands: Record<string, CommandHandler> = {
  create,
  drop,
  dropDatabase,
  listCollections,
  listDatabases,
  createIndexes,
  listIndexes,
  dropIndexes,
};
