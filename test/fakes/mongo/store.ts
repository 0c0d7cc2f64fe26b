import { BSON, ObjectId, UUID } from "bson";
import { bsonTypeAlias, canonicalKey, cloneDocument, type Doc } from "./bson-values.js";
import { badValue, CommandError, notSupported } from "./errors.js";
import { isNumeric, toDouble } from "./numbers.js";
import { splitPath, valuesAlongPath } from "./paths.js";

/** An index as `listIndexes` reports it. */
export type IndexDescription = {
  v: number;
  key: Doc;
  name: string;
  unique?: boolean;
};

/** The name of the index every collection has on `_id`. */
const ID_INDEX_NAME = "_id_";

/** Index metadata plus, for unique indexes, the entries used to reject duplicates. */
class Index {
  private readonly fields: [name: string, segments: string[]][];
  /** Index key (canonical form) → `_id` (canonical form) of the document holding it; unique indexes only. */
  readonly entries = new Map<string, string>();

  constructor(readonly description: IndexDescription) {
    this.fields = Object.keys(description.key).map((name) => [name, splitPath(name)]);
  }

  /** `_id_` is always unique although, as on a real server, its description does not say so. */
  get unique(): boolean {
    return this.description.unique === true || this.description.name === ID_INDEX_NAME;
  }

  /** The indexed values of a document; a missing field indexes as null. */
  keyValue(doc: Doc): Doc {
    const keyValue: Doc = {};
    for (const [name, segments] of this.fields) {
      const values = valuesAlongPath(doc, segments);
      if (values.length > 1 || Array.isArray(values[0])) throw notSupported(`unique index '${this.description.name}' over array values`);
      keyValue[name] = values[0] ?? null;
    }
    return keyValue;
  }

  keyOf(doc: Doc): string {
    return canonicalKey(Object.values(this.keyValue(doc)));
  }
}

/** A value an equality filter compares directly: not an operator object, array or regular expression. */
function isPlainValue(value: unknown): boolean {
  if (value === null || value === undefined) return false;
  if (typeof value === "string" || typeof value === "number" || typeof value === "boolean" || value instanceof ObjectId) return true;
  return false;
}

function formatKeyValue(value: unknown): string {
  if (typeof value === "string") return JSON.stringify(value);
  if (value instanceof ObjectId) return `ObjectId('${value.toHexString()}')`;
  if (isNumeric(value)) return String(toDouble(value));
  return BSON.EJSON.stringify(value, { relaxed: true });
}

/** One collection: documents in natural (insertion) order, keyed by `_id`, plus its indexes. */
export class Collection {
  /** Collection UUID reported by `listCollections`. */
  readonly uuid = new UUID();
  private readonly docs = new Map<string, Doc>();
  private readonly indexes = new Map<string, Index>();

  constructor(
    readonly databaseName: string,
    readonly name: string,
  ) {
    this.indexes.set(ID_INDEX_NAME, new Index({ v: 2, key: { _id: 1 }, name: ID_INDEX_NAME }));
  }

  /** "db.collection". */
  get namespace(): string {
    return `${this.databaseName}.${this.name}`;
  }

  /** A snapshot of the documents in natural order. Stored documents are never mutated. */
  documents(): Doc[] {
    return [...this.docs.values()];
  }

  /**
   * The documents a filter can match: when it pins every field of a unique index to a plain value,
   * just the one document the index holds for it (as a real server's index lookup would); otherwise all
   * of them. Callers still apply the whole filter.
   */
  candidates(filter: unknown): Doc[] {
    if (typeof filter === "object" && filter !== null && !Array.isArray(filter)) {
      const fields = filter as Doc;
      for (const index of this.uniqueIndexes()) {
        const names = Object.keys(index.description.key);
        const pinned = names.every((name) => name in fields && isPlainValue(fields[name]));
        if (!pinned) continue;
        const id = index.entries.get(canonicalKey(names.map((name) => fields[name])));
        const doc = id === undefined ? undefined : this.docs.get(id);
        return doc ? [doc] : [];
      }
    }
    return this.documents();
  }

  /** The indexes, `_id_` first. */
  indexDescriptions(): IndexDescription[] {
    return [...this.indexes.values()].map((index) => index.description);
  }

  /** Stores a copy of `doc` (given an ObjectId `_id` first if it has none) and returns it. */
  insert(doc: Doc): Doc {
    const stored = cloneDocument(doc._id === undefined ? { _id: new ObjectId(), ...doc } : { _id: doc._id, ...doc });
    const idType = bsonTypeAlias(stored._id);
    if (idType === "array" || idType === "regex") throw badValue(`can't use a value of type ${idType} for _id`);
    const keys = this.uniqueIndexes().map((index) => [index, index.keyOf(stored)] as const);
    for (const [index, key] of keys) if (index.entries.has(key)) throw this.duplicateKeyError(index, stored);
    const id = canonicalKey(stored._id);
    for (const [index, key] of keys) index.entries.set(key, id);
    this.docs.set(id, stored);
    return stored;
  }

  /** Replaces a stored document by a copy of `next`, which has the same `_id`, keeping its position. */
  replace(current: Doc, next: Doc): void {
    const stored = cloneDocument(next);
    const id = canonicalKey(current._id);
    const changes = this.uniqueIndexes().map((index) => [index, index.keyOf(current), index.keyOf(stored)] as const);
    for (const [index, oldKey, newKey] of changes) {
      const holder = index.entries.get(newKey);
      if (holder !== undefined && holder !== id) throw this.duplicateKeyError(index, stored);
    }
    for (const [index, oldKey, newKey] of changes) {
      index.entries.delete(oldKey);
      index.entries.set(newKey, id);
    }
    this.docs.set(id, stored);
  }

  /** Deletes a stored document. */
  remove(doc: Doc): void {
    for (const index of this.uniqueIndexes()) index.entries.delete(index.keyOf(doc));
    this.docs.delete(canonicalKey(doc._id));
  }

  /**
   * Adds an index. Asking again for an identical index is a no-op (returns false); a name or key
   * clash with different options is an error, as is a unique index over duplicate data.
   */
  createIndex(description: IndexDescription): boolean {
    const keyPattern = canonicalKey(description.key);
    for (const existing of this.indexes.values()) {
      const sameKey = canonicalKey(existing.description.key) === keyPattern;
      const sameOptions = existing.unique === (description.unique === true);
      if (existing.description.name === description.name) {
        if (sameKey && sameOptions) return false;
        throw new CommandError(
          sameKey ? "IndexOptionsConflict" : "IndexKeySpecsConflict",
          `An existing index has the same name as the requested index but different ${sameKey ? "options" : "key"}: ${description.name}`,
        );
      }
      if (sameKey) {
        throw new CommandError("IndexOptionsConflict", `Index already exists with a different name: ${existing.description.name}`);
      }
    }
    const index = new Index(description);
    if (index.unique) {
      for (const doc of this.docs.values()) {
        const key = index.keyOf(doc);
        if (index.entries.has(key)) throw this.duplicateKeyError(index, doc);
        index.entries.set(key, canonicalKey(doc._id));
      }
    }
    this.indexes.set(description.name, index);
    return true;
  }

  /** Drops one index by name, or every index but `_id_` with "*". Returns how many there were. */
  dropIndex(name: string): number {
    const count = this.indexes.size;
    if (name === ID_INDEX_NAME) throw new CommandError("InvalidOptions", "cannot drop _id index");
    if (name === "*") {
      for (const indexName of this.indexes.keys()) if (indexName !== ID_INDEX_NAME) this.indexes.delete(indexName);
    } else if (!this.indexes.delete(name)) {
      throw new CommandError("IndexNotFound", `index not found with name [${name}]`);
    }
    return count;
  }

  /** The name of the index with this key pattern, if any. */
  indexNameForKey(key: Doc): string | undefined {
    const pattern = canonicalKey(key);
    return [...this.indexes.values()].find((index) => canonicalKey(index.description.key) === pattern)?.description.name;
  }

  private uniqueIndexes(): Index[] {
    return [...this.indexes.values()].filter((index) => index.unique);
  }

  private duplicateKeyError(index: Index, doc: Doc): CommandError {
    const keyValue = index.keyValue(doc);
    const shown = Object.entries(keyValue)
      .map(([field, value]) => `${field}: ${formatKeyValue(value)}`)
      .join(", ");
    return new CommandError(
      "DuplicateKey",
      `E11000 duplicate key error collection: ${this.namespace} index: ${index.description.name} dup key: { ${shown} }`,
      { keyPattern: index.description.key, keyValue },
    );
  }
}

/** Every database and collection the fake holds, in memory. */
export class Store {
  private readonly databases = new Map<string, Map<string, Collection>>();

  /** The collection if it exists. */
  collection(databaseName: string, name: string): Collection | undefined {
    return this.databases.get(databaseName)?.get(name);
  }

  /** The collection, created (implicitly, as MongoDB does on first write) if missing. */
  ensureCollection(databaseName: string, name: string): Collection {
    let database = this.databases.get(databaseName);
    if (!database) {
      database = new Map();
      this.databases.set(databaseName, database);
    }
    let collection = database.get(name);
    if (!collection) {
      collection = new Collection(databaseName, name);
      database.set(name, collection);
    }
    return collection;
  }

  /** The collections of a database in creation order. */
  collections(databaseName: string): Collection[] {
    return [...(this.databases.get(databaseName)?.values() ?? [])];
  }

  /** Names of the databases holding at least one collection. */
  databaseNames(): string[] {
    return [...this.databases.keys()];
  }

  /** Drops a collection; returns false if it did not exist. */
  dropCollection(databaseName: string, name: string): boolean {
    const database = this.databases.get(databaseName);
    const dropped = database?.delete(name) ?? false;
    if (database?.size === 0) this.databases.delete(databaseName);
    return dropped;
  }

  /** Drops a database and all its collections. */
  dropDatabase(databaseName: string): void {
    this.databases.delete(databaseName);
  }

  /** Forgets everything. */
  clear(): void {
    this.databases.clear();
  }
}
