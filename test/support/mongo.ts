import { randomBytes } from "node:crypto";
import { MongoClient, type Db } from "mongodb";
import { startFakeMongo, type FakeMongo } from "../fakes/mongo/server";

/** A MongoDB database for one test file: on `MONGODB_URI` when set, else on a fresh in-memory stand-in. */
export interface TestMongo {
  uri: string;
  /** Its own database name, dropped on close. */
  databaseName: string;
  /** The stand-in, or null when the tests run against a real server. */
  fake: FakeMongo | null;
  db: Db;
  close(): Promise<void>;
}

/** Starts (or connects to) MongoDB and opens a database no other test file uses. */
export async function startTestMongo(): Promise<TestMongo> {
  const fake = process.env.MONGODB_URI ? null : await startFakeMongo();
  const uri = process.env.MONGODB_URI ?? fake!.uri;
  const databaseName = `kiln_test_${randomBytes(4).toString("hex")}`;
  const client = new MongoClient(uri, { serverSelectionTimeoutMS: 3000 });
  const db = client.db(databaseName);
  return {
    uri,
    databaseName,
    fake,
    db,
    close: async () => {
      if (!fake) await db.dropDatabase();
      await client.close();
      await fake?.close();
    },
  };
}
