import { spawn } from "node:child_process";
import { createHash, randomBytes } from "node:crypto";
import { once } from "node:events";
import net from "node:net";
import { fileURLToPath } from "node:url";
import { Readable } from "node:stream";
import { pipeline } from "node:stream/promises";
import { BSON } from "bson";
import {
  Binary,
  Double,
  GridFSBucket,
  Int32,
  Long,
  MongoBulkWriteError,
  MongoClient,
  MongoServerError,
  ObjectId,
  type Collection,
  type CommandStartedEvent,
  type Db,
  type Document,
} from "mongodb";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startFakeMongo, type FakeMongo } from "./server.js";

/** Set MONGODB_URI to run the behaviour tests against a real server instead of the fake. */
const realServerUri = process.env.MONGODB_URI;
const DB_NAME = `fake_mongo_test_${process.pid}_${Date.now().toString(36)}`;

let fake: FakeMongo;
let client: MongoClient;
let db: Db;

function connect(uri: string, options: ConstructorParameters<typeof MongoClient>[1] = {}): Promise<MongoClient> {
  return MongoClient.connect(uri, { serverSelectionTimeoutMS: 5_000, ...options });
}

beforeAll(async () => {
  fake = await startFakeMongo();
  client = await connect(realServerUri ?? fake.uri, { monitorCommands: true });
  db = client.db(DB_NAME);
});

afterAll(async () => {
  await db?.dropDatabase();
  await client?.close();
  await fake?.close();
});

let collectionCounter = 0;
/** A fresh collection per test, so tests never see each other's documents. */
function freshCollection<T extends Document = Document>(label: string): Collection<T> {
  collectionCounter += 1;
  return db.collection<T>(`${label}_${collectionCounter}`);
}

/** Names of the commands the shared client sends while `action` runs. */
async function commandsDuring(action: () => Promise<unknown>): Promise<string[]> {
  const names: string[] = [];
  const listener = (event: CommandStartedEvent) => names.push(event.commandName);
  client.on("commandStarted", listener);
  try {
    await action();
  } finally {
    client.off("commandStarted", listener);
  }
  return names;
}

async function serverError(promise: Promise<unknown>): Promise<MongoServerError> {
  const error = await promise.then(
    () => undefined,
    (caught: unknown) => caught,
  );
  expect(error).toBeInstanceOf(MongoServerError);
  return error as MongoServerError;
}

const sha256 = (bytes: Buffer) => createHash("sha256").update(bytes).digest("hex");

async function readAll(stream: AsyncIterable<Buffer | string>): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(Buffer.from(chunk));
  return Buffer.concat(chunks);
}

const PEOPLE = [
  { name: "ann", age: 31, city: "Oslo", tags: ["admin", "dev"], address: { zip: "0150", street: "Main" } },
  { name: "bob", age: 25, city: "Rome", tags: ["dev"] },
  { name: "cid", age: 31, city: "Rome", tags: [] as string[] },
  { name: "dan", age: 40, city: "Oslo", nickname: null },
  { name: "eve", age: 19, city: "Kyiv", scores: [{ subject: "math", grade: 9 }, { subject: "art", grade: 4 }] },
];

describe(`MongoDB behaviour (${realServerUri ? "real server from MONGODB_URI" : "fake server"})`, () => {
  it("connects and answers ping and buildInfo", async () => {
    expect(await db.command({ ping: 1 })).toMatchObject({ ok: 1 });
    const info = await db.admin().buildInfo();
    expect(info.version).toMatch(/^\d+\.\d+\.\d+/);
  });

  describe("find", () => {
    let people: Collection;
    const names = async (filter: Document) =>
      (await people.find(filter).sort({ name: 1 }).toArray()).map((doc) => doc.name);

    beforeAll(async () => {
      people = freshCollection("people");
      await people.insertMany(PEOPLE.map((person) => ({ ...person })));
    });

    it("matches comparison, set and existence operators", async () => {
      expect(await names({ age: { $gte: 30 } })).toEqual(["ann", "cid", "dan"]);
      expect(await names({ age: { $gt: 19, $lt: 31 } })).toEqual(["bob"]);
      expect(await names({ city: { $in: ["Rome", "Kyiv"] } })).toEqual(["bob", "cid", "eve"]);
      expect(await names({ city: { $nin: ["Rome", "Kyiv"] } })).toEqual(["ann", "dan"]);
      expect(await names({ city: { $ne: "Oslo" } })).toEqual(["bob", "cid", "eve"]);
      expect(await names({ tags: { $exists: false } })).toEqual(["dan", "eve"]);
      expect(await names({ nickname: null })).toEqual(["ann", "bob", "cid", "dan", "eve"]);
      expect(await names({ nickname: { $exists: true } })).toEqual(["dan"]);
      expect(await names({ age: { $not: { $gte: 30 } } })).toEqual(["bob", "eve"]);
    });

    it("matches arrays, embedded documents and dotted paths", async () => {
      expect(await names({ tags: "dev" })).toEqual(["ann", "bob"]);
      expect(await names({ tags: ["dev"] })).toEqual(["bob"]);
      expect(await names({ tags: { $size: 0 } })).toEqual(["cid"]);
      expect(await names({ tags: { $all: ["dev", "admin"] } })).toEqual(["ann"]);
      expect(await names({ "address.zip": "0150" })).toEqual(["ann"]);
      expect(await names({ address: { zip: "0150", street: "Main" } })).toEqual(["ann"]);
      expect(await names({ address: { street: "Main", zip: "0150" } })).toEqual([]);
      expect(await names({ "scores.grade": { $gt: 8 } })).toEqual(["eve"]);
      expect(await names({ scores: { $elemMatch: { subject: "art", grade: { $gte: 5 } } } })).toEqual([]);
      expect(await names({ scores: { $elemMatch: { subject: "math", grade: { $gte: 5 } } } })).toEqual(["eve"]);
    });

    it("combines clauses with $and, $or and $nor", async () => {
      expect(await names({ $or: [{ age: 25 }, { city: "Kyiv" }] })).toEqual(["bob", "eve"]);
      expect(await names({ $and: [{ city: "Oslo" }, { age: { $gt: 35 } }] })).toEqual(["dan"]);
      expect(await names({ $nor: [{ city: "Oslo" }, { city: "Rome" }] })).toEqual(["eve"]);
    });

    it("sorts on compound keys, then skips and limits", async () => {
      const sorted = await people.find().sort({ age: -1, name: 1 }).toArray();
      expect(sorted.map((doc) => doc.name)).toEqual(["dan", "ann", "cid", "bob", "eve"]);
      const page = await people.find().sort({ age: -1, name: 1 }).skip(1).limit(2).toArray();
      expect(page.map((doc) => doc.name)).toEqual(["ann", "cid"]);
      const negative = await people.find().sort({ name: -1 }).limit(-2).toArray();
      expect(negative.map((doc) => doc.name)).toEqual(["eve", "dan"]);
    });

    it("projects with inclusion, exclusion and _id: 0", async () => {
      const included = await people.findOne({ name: "ann" }, { projection: { name: 1, "address.zip": 1, _id: 0 } });
      expect(included).toEqual({ name: "ann", address: { zip: "0150" } });
      const withId = await people.findOne({ name: "bob" }, { projection: { age: 1 } });
      expect(Object.keys(withId ?? {})).toEqual(["_id", "age"]);
      const excluded = await people.findOne({ name: "ann" }, { projection: { tags: 0, address: 0, _id: 0 } });
      expect(excluded).toEqual({ name: "ann", age: 31, city: "Oslo" });
    });
  });

  it("round-trips BSON types exactly and compares numbers across types", async () => {
    const typed = freshCollection("typed");
    const id = new ObjectId();
    const bytes = Buffer.from([0, 1, 2, 254, 255]);
    const when = new Date("2024-02-29T12:34:56.789Z");
    const original = () => ({
      _id: id,
      int: new Int32(7),
      double: new Double(7),
      long: Long.fromString("9007199254740993"),
      when,
      bin: new Binary(bytes, 0),
      nested: { list: [new Int32(1), "two", null, { deep: new Double(2.5) }] },
    });
    await typed.insertOne(original());
    const raw = await typed.findOne({ _id: id }, { promoteValues: false, promoteLongs: false });
    expect(raw?.int).toBeInstanceOf(Int32);
    expect(raw?.double).toBeInstanceOf(Double);
    expect((raw?.long as Long).toString()).toBe("9007199254740993");
    expect(raw?.when).toEqual(when);
    expect(Buffer.from((raw?.bin as Binary).buffer)).toEqual(bytes);
    expect(BSON.serialize(raw ?? {})).toEqual(BSON.serialize(original()));

    await typed.insertMany([{ v: new Int32(2) }, { v: new Double(1.5) }, { v: Long.fromNumber(3) }, { v: "text" }]);
    expect(await typed.countDocuments({ double: 7 })).toBe(1);
    expect(await typed.countDocuments({ long: Long.fromString("9007199254740993") })).toBe(1);
    const numbers = await typed.find({ v: { $gte: 1 } }).sort({ v: 1 }).toArray();
    expect(numbers.map((doc) => Number(doc.v))).toEqual([1.5, 2, 3]);
  });

  it("iterates a cursor over several getMore batches", async () => {
    const many = freshCollection("many");
    await many.insertMany(Array.from({ length: 250 }, (_, i) => ({ i })));
    let docs: Document[] = [];
    const sent = await commandsDuring(async () => {
      docs = await many.find({}, { batchSize: 50 }).sort({ i: 1 }).toArray();
    });
    expect(docs.map((doc) => doc.i)).toEqual(Array.from({ length: 250 }, (_, i) => i));
    expect(sent.filter((name) => name === "getMore").length).toBeGreaterThanOrEqual(4);

    const closedEarly = await commandsDuring(async () => {
      const cursor = many.find({}, { batchSize: 10 });
      await cursor.next();
      await cursor.close();
    });
    expect(closedEarly).toContain("killCursors");
  });

  describe("update", () => {
    it("applies $set, $unset and $inc, creating embedded documents", async () => {
      const users = freshCollection("users");
      await users.insertMany([
        { name: "ann", visits: 1, legacy: true },
        { name: "bob", visits: 5 },
      ]);
      const result = await users.updateOne(
        { name: "ann" },
        { $set: { "profile.city": "Oslo" }, $unset: { legacy: "" }, $inc: { visits: 2 } },
      );
      expect(result).toMatchObject({ matchedCount: 1, modifiedCount: 1 });
      expect(await users.findOne({ name: "ann" }, { projection: { _id: 0 } })).toEqual({
        name: "ann",
        visits: 3,
        profile: { city: "Oslo" },
      });
      const many = await users.updateMany({}, { $inc: { visits: 10 } });
      expect(many).toMatchObject({ matchedCount: 2, modifiedCount: 2 });
      expect((await users.find().sort({ name: 1 }).toArray()).map((doc) => doc.visits)).toEqual([13, 15]);
      const noop = await users.updateOne({ name: "bob" }, { $set: { visits: 15 } });
      expect(noop).toMatchObject({ matchedCount: 1, modifiedCount: 0 });
    });

    it("applies array, comparison, rename and date operators", async () => {
      type Item = { key: string; tags: string[]; low: number; high: number; old?: string; renamed?: string; touched?: Date };
      const items = freshCollection<Item>("items");
      await items.insertOne({ key: "a", tags: ["x"], low: 5, high: 5, old: "value" });
      await items.updateOne(
        { key: "a" },
        {
          $push: { tags: { $each: ["y", "z"] } },
          $min: { low: 2 },
          $max: { high: 3 },
          $rename: { old: "renamed" },
          $currentDate: { touched: true },
        },
      );
      await items.updateOne({ key: "a" }, { $addToSet: { tags: "x" } });
      await items.updateOne({ key: "a" }, { $pull: { tags: "y" } });
      const conflict = await serverError(items.updateOne({ key: "a" }, { $addToSet: { tags: "x" }, $pull: { tags: "y" } }));
      expect(conflict.code).toBe(40);
      const doc = await items.findOne({ key: "a" });
      expect(doc).toMatchObject({ tags: ["x", "z"], low: 2, high: 5, renamed: "value" });
      expect(doc?.old).toBeUndefined();
      expect(doc?.touched).toBeInstanceOf(Date);
    });

    it("upserts from the query's equality fields plus $setOnInsert", async () => {
      const stock = freshCollection("stock");
      const first = await stock.updateOne(
        { sku: "hammer", "meta.kind": "tool", qty: { $gt: 100 } },
        { $set: { qty: 1 }, $setOnInsert: { created: "first" } },
        { upsert: true },
      );
      expect(first).toMatchObject({ upsertedCount: 1, matchedCount: 0 });
      expect(first.upsertedId).toBeInstanceOf(ObjectId);
      await stock.updateOne({ sku: "hammer" }, { $inc: { qty: 1 }, $setOnInsert: { created: "second" } }, { upsert: true });
      expect(await stock.find({}, { projection: { _id: 0 } }).toArray()).toEqual([
        { sku: "hammer", meta: { kind: "tool" }, qty: 2, created: "first" },
      ]);
    });

    it("replaces a whole document but keeps its _id", async () => {
      const docs = freshCollection("replace");
      const { insertedId } = await docs.insertOne({ a: 1, b: 2 });
      await docs.replaceOne({ _id: insertedId }, { c: 3 });
      expect(await docs.findOne({ _id: insertedId })).toEqual({ _id: insertedId, c: 3 });
    });

    it("rejects $inc on a non-numeric field", async () => {
      const docs = freshCollection("badinc");
      await docs.insertOne({ name: "x" });
      const error = await serverError(docs.updateOne({}, { $inc: { name: 1 } }));
      expect(error.code).toBe(14);
    });
  });

  it("findOneAndUpdate returns the new document and upserts", async () => {
    const counters = freshCollection("counters");
    const bump = () =>
      counters.findOneAndUpdate({ key: "jobs" }, { $inc: { n: 1 } }, { upsert: true, returnDocument: "after", projection: { _id: 0 } });
    expect(await bump()).toEqual({ key: "jobs", n: 1 });
    expect(await bump()).toEqual({ key: "jobs", n: 2 });
    const before = await counters.findOneAndUpdate({ key: "jobs" }, { $set: { n: 10 } }, { returnDocument: "before" });
    expect(before?.n).toBe(2);
    expect(await counters.findOneAndUpdate({ key: "missing" }, { $set: { n: 1 } })).toBeNull();
    const removed = await counters.findOneAndDelete({ key: "jobs" });
    expect(removed?.n).toBe(10);
    expect(await counters.countDocuments()).toBe(0);
  });

  it("deletes one or many documents", async () => {
    const docs = freshCollection("delete");
    await docs.insertMany([{ kind: "a" }, { kind: "a" }, { kind: "b" }, { kind: "a" }]);
    expect((await docs.deleteOne({ kind: "a" })).deletedCount).toBe(1);
    expect((await docs.deleteMany({ kind: "a" })).deletedCount).toBe(2);
    expect((await docs.deleteMany({ kind: "zzz" })).deletedCount).toBe(0);
    expect(await docs.find({}, { projection: { _id: 0 } }).toArray()).toEqual([{ kind: "b" }]);
  });

  it("counts documents and lists distinct values", async () => {
    const docs = freshCollection("count");
    await docs.insertMany(Array.from({ length: 12 }, (_, i) => ({ i, parity: i % 2 ? "odd" : "even", tags: [`t${i % 3}`] })));
    expect(await docs.countDocuments()).toBe(12);
    expect(await docs.countDocuments({ parity: "odd" })).toBe(6);
    expect(await docs.countDocuments({ parity: "odd" }, { skip: 2, limit: 3 })).toBe(3);
    expect(await docs.countDocuments({ parity: "none" })).toBe(0);
    expect(await docs.estimatedDocumentCount()).toBe(12);
    expect((await docs.distinct("parity")).sort()).toEqual(["even", "odd"]);
    expect((await docs.distinct("tags", { i: { $lt: 2 } })).sort()).toEqual(["t0", "t1"]);
  });

  it("aggregates with $match, $group, $sort and friends", async () => {
    const sales = freshCollection("sales");
    await sales.insertMany([
      { region: "north", amount: 10, items: ["a", "b"] },
      { region: "south", amount: 5, items: ["a"] },
      { region: "north", amount: 7, items: [] },
      { region: "east", amount: 1, items: ["c"] },
      { region: "south", amount: 20, items: ["b"] },
    ]);
    const totals = await sales
      .aggregate([
        { $match: { amount: { $gte: 5 } } },
        { $sort: { amount: 1 } },
        {
          $group: {
            _id: "$region",
            total: { $sum: "$amount" },
            count: { $sum: 1 },
            average: { $avg: "$amount" },
            smallest: { $min: "$amount" },
            largest: { $max: "$amount" },
            first: { $first: "$amount" },
            all: { $push: "$amount" },
          },
        },
        { $sort: { total: -1 } },
      ])
      .toArray();
    expect(totals).toEqual([
      { _id: "south", total: 25, count: 2, average: 12.5, smallest: 5, largest: 20, first: 5, all: [5, 20] },
      { _id: "north", total: 17, count: 2, average: 8.5, smallest: 7, largest: 10, first: 7, all: [7, 10] },
    ]);
    const perItem = await sales
      .aggregate([
        { $unwind: "$items" },
        { $group: { _id: { item: "$items" }, n: { $sum: 1 } } },
        { $sort: { "_id.item": 1 } },
        { $skip: 1 },
        { $limit: 2 },
        { $project: { _id: 0, item: "$_id.item", n: 1 } },
      ])
      .toArray();
    expect(perItem).toEqual([
      { n: 2, item: "b" },
      { n: 1, item: "c" },
    ]);
    expect(await sales.aggregate([{ $match: { region: "north" } }, { $count: "north" }]).toArray()).toEqual([{ north: 2 }]);
    const overall = await sales.aggregate([{ $group: { _id: null, sum: { $sum: "$amount" } } }]).toArray();
    expect(overall).toEqual([{ _id: null, sum: 43 }]);
  });

  describe("unique indexes", () => {
    it("rejects a duplicate on a single-field unique index with code 11000", async () => {
      const accounts = freshCollection("accounts");
      await accounts.createIndex({ email: 1 }, { unique: true });
      await accounts.createIndex({ email: 1 }, { unique: true });
      await accounts.insertOne({ email: "a@x.io" });
      const error = await serverError(accounts.insertOne({ email: "a@x.io" }));
      expect(error.code).toBe(11000);
      expect(error.message).toContain("E11000 duplicate key error");
      expect(error.keyValue).toEqual({ email: "a@x.io" });
      await accounts.insertOne({ email: "b@x.io" });
      const update = await serverError(accounts.updateOne({ email: "b@x.io" }, { $set: { email: "a@x.io" } }));
      expect(update.code).toBe(11000);
      expect(await accounts.countDocuments({ email: "b@x.io" })).toBe(1);
    });

    it("rejects duplicates of a compound unique index, missing fields counting as null", async () => {
      const files = freshCollection("files");
      await files.createIndex({ owner: 1, path: 1 }, { unique: true });
      await files.insertMany([{ owner: "u1", path: "/a" }, { owner: "u1", path: "/b" }, { owner: "u2", path: "/a" }]);
      expect((await serverError(files.insertOne({ owner: "u1", path: "/a" }))).code).toBe(11000);
      await files.insertOne({ owner: "u3" });
      expect((await serverError(files.insertOne({ owner: "u3", path: null }))).code).toBe(11000);
      expect(await files.countDocuments()).toBe(4);
    });

    it("stops an ordered insertMany at the first duplicate but not an unordered one", async () => {
      const tags = freshCollection("tags");
      await tags.createIndex({ tag: 1 }, { unique: true });
      const docs = () => [{ tag: "a" }, { tag: "b" }, { tag: "a" }, { tag: "c" }];

      const ordered = await tags.insertMany(docs()).catch((error: unknown) => error);
      expect(ordered).toBeInstanceOf(MongoBulkWriteError);
      expect((ordered as MongoBulkWriteError).code).toBe(11000);
      expect((ordered as MongoBulkWriteError).insertedCount).toBe(2);
      expect(await tags.distinct("tag")).toEqual(["a", "b"]);

      await tags.deleteMany({});
      const unordered = await tags.insertMany(docs(), { ordered: false }).catch((error: unknown) => error);
      expect(unordered).toBeInstanceOf(MongoBulkWriteError);
      expect((unordered as MongoBulkWriteError).insertedCount).toBe(3);
      expect(await tags.distinct("tag")).toEqual(["a", "b", "c"]);
    });

    it("refuses to build a unique index over duplicate data", async () => {
      const dupes = freshCollection("dupes");
      await dupes.insertMany([{ k: 1 }, { k: 1 }]);
      expect((await serverError(dupes.createIndex({ k: 1 }, { unique: true }))).code).toBe(11000);
    });
  });

  it("lists and drops indexes and collections", async () => {
    const catalog = freshCollection("catalog");
    await catalog.insertOne({ a: 1 });
    await catalog.createIndex({ a: 1, b: -1 }, { name: "a_b" });
    const indexes = await catalog.listIndexes().toArray();
    expect(indexes.map((index) => [index.name, index.key])).toEqual([
      ["_id_", { _id: 1 }],
      ["a_b", { a: 1, b: -1 }],
    ]);
    await catalog.dropIndex("a_b");
    expect((await catalog.listIndexes().toArray()).map((index) => index.name)).toEqual(["_id_"]);

    const listed = await db.listCollections({ name: catalog.collectionName }).toArray();
    expect(listed).toHaveLength(1);
    expect(listed[0]).toMatchObject({ name: catalog.collectionName, type: "collection" });
    const namesOnly = await db.listCollections({}, { nameOnly: true }).toArray();
    expect(namesOnly.map((entry) => entry.name)).toContain(catalog.collectionName);

    expect(await catalog.drop()).toBe(true);
    expect(await db.listCollections({ name: catalog.collectionName }).toArray()).toEqual([]);
    expect((await serverError(catalog.listIndexes().toArray())).code).toBe(26);
  });

  it("stores a 5 MB+ file in GridFS and reads it back byte for byte", async () => {
    const bucketName = `gfs${++collectionCounter}`;
    const bucket = new GridFSBucket(db, { bucketName });
    const content = randomBytes(5 * 1024 * 1024 + 12_345);
    const upload = bucket.openUploadStream("blob.bin", { metadata: { owner: "ann", tags: ["x"] } });
    await pipeline(Readable.from([content]), upload);

    const [file] = await bucket.find({ filename: "blob.bin" }).toArray();
    expect(file).toMatchObject({ length: content.length, metadata: { owner: "ann", tags: ["x"] } });
    expect(sha256(await readAll(bucket.openDownloadStream(file._id)))).toBe(sha256(content));
    expect(sha256(await readAll(bucket.openDownloadStreamByName("blob.bin")))).toBe(sha256(content));

    await bucket.delete(file._id);
    expect(await bucket.find({}).toArray()).toEqual([]);
    expect(await db.collection(`${bucketName}.chunks`).countDocuments()).toBe(0);
    await expect(readAll(bucket.openDownloadStream(file._id))).rejects.toThrow(/FileNotFound|not found/i);
  });

  it("answers $regex prefix queries and string range queries", async () => {
    const paths = freshCollection("paths");
    await paths.insertMany(["/a/x", "/a/y/z", "/ab", "/b", "/A/up"].map((path) => ({ path })));
    const found = async (filter: Document) => (await paths.find(filter).sort({ path: 1 }).toArray()).map((doc) => doc.path);
    expect(await found({ path: { $regex: "^/a/" } })).toEqual(["/a/x", "/a/y/z"]);
    expect(await found({ path: { $regex: "^/a/", $options: "i" } })).toEqual(["/A/up", "/a/x", "/a/y/z"]);
    expect(await found({ path: /^\/a\/y/ })).toEqual(["/a/y/z"]);
    expect(await found({ path: { $gte: "/a/", $lt: "/a0" } })).toEqual(["/a/x", "/a/y/z"]);
    expect(await found({ path: { $gt: "/a/x", $lte: "/b" } })).toEqual(["/a/y/z", "/ab", "/b"]);
    expect(await found({ path: { $not: /^\/a/ } })).toEqual(["/A/up", "/b"]);
  });

  it("raises MongoServerError for an unknown command and an unknown operator", async () => {
    const command = await serverError(db.command({ fakeNoSuchCommand: 1 }));
    expect(command.code).toBe(59);
    expect(command.message).toContain("no such command: 'fakeNoSuchCommand'");
    const operator = await serverError(freshCollection("ops").find({ a: { $foo: 1 } }).toArray());
    expect(operator.code).toBe(2);
    expect(operator.message).toContain("unknown operator: $foo");
    await serverError(freshCollection("ops").updateOne({}, { $foo: { a: 1 } }, { upsert: true }));
  });
});

describe.skipIf(realServerUri !== undefined)("fake server only", () => {
  it("refuses valid MongoDB it does not implement instead of answering wrongly", async () => {
    const docs = freshCollection("unsupported");
    await docs.insertOne({ a: [1, 2] });
    const cases: Promise<unknown>[] = [
      docs.aggregate([{ $lookup: { from: "x", localField: "a", foreignField: "b", as: "c" } }]).toArray(),
      docs.find({ $where: "true" }).toArray(),
      docs.find({}, { collation: { locale: "fr" } }).toArray(),
      docs.updateOne({}, { $set: { "a.$[x]": 0 } }, { arrayFilters: [{ x: 1 }] }),
      docs.updateOne({}, { $mul: { b: 2 } }),
      docs.aggregate([{ $group: { _id: null, s: { $stdDevPop: "$a" } } }]).toArray(),
      docs.createIndex({ a: 1 }, { expireAfterSeconds: 10 }),
    ];
    for (const attempt of cases) {
      const error = await serverError(attempt);
      expect(error.code).toBe(115);
      expect(error.message).toMatch(/not supported by the fake MongoDB server/);
    }
  });

  it("counts the commands it receives", async () => {
    const docs = freshCollection("counted");
    await docs.insertMany(Array.from({ length: 250 }, (_, i) => ({ i })));
    fake.resetCounts();
    expect(await docs.find({}, { batchSize: 50 }).toArray()).toHaveLength(250);
    await docs.findOne({ i: 3 });
    const counts = fake.commandCounts();
    expect(counts.find).toBe(2);
    expect(counts.getMore).toBe(4);
    expect(counts.insert).toBeUndefined();
  });

  it("fails operations while stopped and serves the same data after restart", async () => {
    const outage = await startFakeMongo();
    const options = { serverSelectionTimeoutMS: 1_000, heartbeatFrequencyMS: 500, socketTimeoutMS: 2_000 };
    const before = await connect(outage.uri, options);
    try {
      await before.db("keep").collection("docs").insertOne({ survived: true });
      await outage.stop();
      await expect(before.db("keep").collection("docs").findOne({})).rejects.toThrow();

      await outage.restart();
      const after = await connect(outage.uri, options);
      try {
        expect(await after.db("keep").collection("docs").findOne({}, { projection: { _id: 0 } })).toEqual({ survived: true });
      } finally {
        await after.close();
      }
      await expect.poll(() => before.db("keep").collection("docs").countDocuments().catch(() => -1), { timeout: 10_000 }).toBe(1);
    } finally {
      await before.close();
      await outage.close();
    }
  });

  it("accepts raw OP_MSG with document sequences, a checksum and moreToCome", async () => {
    const socket = net.connect(fake.port, "127.0.0.1");
    await once(socket, "connect");
    const opMsg = (requestId: number, flags: number, body: Document, sequence?: [string, Document[]]) => {
      const sections = [Buffer.from([0]), Buffer.from(BSON.serialize(body))];
      if (sequence) {
        const docs = sequence[1].map((doc) => Buffer.from(BSON.serialize(doc)));
        const identifier = Buffer.from(`${sequence[0]}\0`);
        const size = Buffer.alloc(4);
        size.writeInt32LE(4 + identifier.length + docs.reduce((total, doc) => total + doc.length, 0));
        sections.push(Buffer.from([1]), size, identifier, ...docs);
      }
      const checksum = flags & 1 ? Buffer.alloc(4) : Buffer.alloc(0);
      const header = Buffer.alloc(20);
      const length = header.length + sections.reduce((total, part) => total + part.length, 0) + checksum.length;
      header.writeInt32LE(length, 0);
      header.writeInt32LE(requestId, 4);
      header.writeInt32LE(2013, 12);
      header.writeUInt32LE(flags, 16);
      return Buffer.concat([header, ...sections, checksum]);
    };
    const collection = `raw_${++collectionCounter}`;
    const CHECKSUM_PRESENT = 1;
    const MORE_TO_COME = 2;
    socket.write(
      opMsg(1, CHECKSUM_PRESENT | MORE_TO_COME, { insert: collection, $db: DB_NAME, writeConcern: { w: 0 } }, [
        "documents",
        [{ _id: 1, v: "one" }, { _id: 2, v: "two" }],
      ]),
    );
    socket.write(opMsg(2, CHECKSUM_PRESENT, { find: collection, $db: DB_NAME, sort: { _id: 1 } }));
    const [reply] = (await once(socket, "data")) as [Buffer];
    socket.destroy();
    expect(reply.readInt32LE(8)).toBe(2);
    expect(reply.readInt32LE(12)).toBe(2013);
    const body = BSON.deserialize(reply.subarray(21));
    expect(body.cursor.firstBatch).toEqual([{ _id: 1, v: "one" }, { _id: 2, v: "two" }]);
  });

  it("runs from the command line, prints MONGODB_URI and exits on SIGTERM", async () => {
    const cli = fileURLToPath(new URL("./cli.ts", import.meta.url));
    const child = spawn(process.execPath, ["--import", "tsx", cli], { stdio: ["ignore", "pipe", "inherit"] });
    try {
      const [firstOutput] = (await once(child.stdout, "data")) as [Buffer];
      const uri = /^MONGODB_URI=(\S+)$/m.exec(firstOutput.toString())?.[1];
      expect(uri).toMatch(/^mongodb:\/\/127\.0\.0\.1:\d+\/\?directConnection=true$/);
      const cliClient = await connect(uri!);
      expect(await cliClient.db("x").command({ ping: 1 })).toMatchObject({ ok: 1 });
      await cliClient.close();
    } finally {
      child.kill("SIGTERM");
    }
    const [code] = await once(child, "exit");
    expect(code).toBe(0);
  });
});
