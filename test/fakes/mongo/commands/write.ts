import { valuesEqual, isPlainDocument, sameBytes, type Doc } from "../bson-values.js";
import { badValue, CommandError } from "../errors.js";
import { compileProjection } from "../projection.js";
import { selectDocuments } from "../select.js";
import { compileUpdate, immutableIdError, upsertSeed, type UpdatePlan } from "../update.js";
import {
  arrayArgument,
  booleanArgument,
  checkCommandFields,
  collectionArgument,
  documentArgument,
  integerArgument,
  rejectUnknownFields,
} from "./arguments.js";
import type { CommandContext, CommandHandler } from "./context.js";

/**
 * Runs the statements of a write command one by one. A statement's CommandError becomes a
 * `writeErrors` entry; an ordered write stops at the first one, an unordered write goes on.
 */
function runStatements(command: Doc, field: string, run: (statement: Doc, index: number) => void): Doc[] {
  const ordered = booleanArgument(command.ordered, "ordered", true);
  const writeErrors: Doc[] = [];
  for (const [index, statement] of arrayArgument(command[field], field).entries()) {
    try {
      if (!isPlainDocument(statement)) throw badValue(`each entry of ${field} must be an object`);
      run(statement, index);
    } catch (error) {
      if (!(error instanceof CommandError)) throw error;
      writeErrors.push(error.toWriteError(index));
      if (ordered) break;
    }
  }
  return writeErrors;
}

function writeReply(counts: Doc, writeErrors: Doc[]): Doc {
  return { ...counts, ...(writeErrors.length > 0 ? { writeErrors } : {}), ok: 1 };
}

const insert: CommandHandler = (command, context) => {
  checkCommandFields(command, ["documents", "ordered", "bypassDocumentValidation"]);
  const collection = context.store.ensureCollection(context.databaseName, collectionArgument(command));
  let n = 0;
  const writeErrors = runStatements(command, "documents", (doc) => {
    collection.insert(doc);
    n += 1;
  });
  return writeReply({ n }, writeErrors);
};

interface Modification {
  filter: Doc;
  sort?: unknown;
  multi: boolean;
  upsert: boolean;
  update: UpdatePlan;
}

interface ModificationResult {
  matched: number;
  modified: number;
  /** The inserted document when an upsert found nothing to update. */
  upserted?: Doc;
  /** The last document touched, before and after the change. */
  before?: Doc;
  after?: Doc;
}

/** Updates the matching documents (or upserts), shared by `update` and `findAndModify`. */
function modifyDocuments(context: CommandContext, collectionName: string, request: Modification): ModificationResult {
  const collection = context.store.collection(context.databaseName, collectionName);
  const targets = selectDocuments(collection?.candidates(request.filter) ?? [], {
    filter: request.filter,
    sort: request.sort,
    limit: request.multi ? 0 : 1,
  });
  if (targets.length === 0) {
    if (!request.upsert) return { matched: 0, modified: 0 };
    const created = request.update.apply(upsertSeed(request.filter), true);
    const stored = context.store.ensureCollection(context.databaseName, collectionName).insert(created);
    return { matched: 0, modified: 0, upserted: stored, after: stored };
  }
  let modified = 0;
  let last: Pick<ModificationResult, "before" | "after"> = {};
  for (const target of targets) {
    const next = request.update.apply(target, false);
    if (!valuesEqual(next._id, target._id)) throw immutableIdError();
    if (!sameBytes(next, target)) {
      collection!.replace(target, next);
      modified += 1;
    }
    last = { before: target, after: next };
  }
  return { matched: targets.length, modified, ...last };
}

const update: CommandHandler = (command, context) => {
  checkCommandFields(command, ["updates", "ordered", "bypassDocumentValidation"]);
  const collection = collectionArgument(command);
  let n = 0;
  let nModified = 0;
  const upserted: Doc[] = [];
  const writeErrors = runStatements(command, "updates", (statement, index) => {
    rejectUnknownFields(statement, ["q", "u", "multi", "upsert", "hint", "sort"], "an update statement");
    const plan = compileUpdate(statement.u);
    const multi = booleanArgument(statement.multi, "multi");
    if (multi && plan.isReplacement) throw badValue("multi update is not supported for replacement-style update");
    const result = modifyDocuments(context, collection, {
      filter: documentArgument(statement.q, "q") ?? {},
      sort: statement.sort,
      multi,
      upsert: booleanArgument(statement.upsert, "upsert"),
      update: plan,
    });
    n += result.matched;
    nModified += result.modified;
    if (result.upserted) {
      n += 1;
      upserted.push({ index, _id: result.upserted._id });
    }
  });
  return writeReply({ n, nModified, ...(upserted.length > 0 ? { upserted } : {}) }, writeErrors);
};

const deleteCommand: CommandHandler = (command, context) => {
  checkCommandFields(command, ["deletes", "ordered"]);
  const collection = context.store.collection(context.databaseName, collectionArgument(command));
  let n = 0;
  const writeErrors = runStatements(command, "deletes", (statement) => {
    rejectUnknownFields(statement, ["q", "limit", "hint"], "a delete statement");
    const limit = integerArgument(statement.limit, "limit") ?? 0;
    if (limit > 1) throw badValue("The limit field in delete objects must be 0 or 1");
    const filter = documentArgument(statement.q, "q") ?? {};
    const targets = selectDocuments(collection?.candidates(filter) ?? [], { filter, limit });
    for (const target of targets) collection!.remove(target);
    n += targets.length;
  });
  return writeReply({ n }, writeErrors);
};

const findAndModify: CommandHandler = (command, context) => {
  checkCommandFields(command, ["query", "sort", "remove", "update", "new", "upsert", "fields", "bypassDocumentValidation", "hint"]);
  const collectionName = collectionArgument(command);
  const filter = documentArgument(command.query, "query") ?? {};
  const remove = booleanArgument(command.remove, "remove");
  const returnNew = booleanArgument(command.new, "new");
  const upsert = booleanArgument(command.upsert, "upsert");
  const fields = documentArgument(command.fields, "fields");
  const project = fields ? compileProjection(fields, { computedFields: false }) : (doc: Doc) => doc;

  if (remove) {
    if (command.update !== undefined || upsert || returnNew) throw badValue("remove=true cannot be combined with update, upsert or new");
    const collection = context.store.collection(context.databaseName, collectionName);
    const [target] = selectDocuments(collection?.candidates(filter) ?? [], { filter, sort: command.sort, limit: 1 });
    if (target) collection!.remove(target);
    return { lastErrorObject: { n: target ? 1 : 0 }, value: target ? project(target) : null, ok: 1 };
  }
  if (command.update === undefined) throw new CommandError("FailedToParse", "Either an update or remove=true must be specified");
  const result = modifyDocuments(context, collectionName, {
    filter,
    sort: command.sort,
    multi: false,
    upsert,
    update: compileUpdate(command.update),
  });
  const image = returnNew ? result.after : result.before;
  return {
    lastErrorObject: {
      n: result.matched + (result.upserted ? 1 : 0),
      updatedExisting: result.matched > 0,
      ...(result.upserted ? { upserted: result.upserted._id } : {}),
    },
    value: image ? project(image) : null,
    ok: 1,
  };
};

/** Write commands: insert, update, delete, findAndModify. */
export const writeCommands: Record<string, CommandHandler> = { insert, update, delete: deleteCommand, findAndModify };
