import { secret } from "encore.dev/config";
import { MongoClient } from "mongodb";
import { encoreLogger } from "../lib/encore";
import type { VfsApi } from "./contract";
import { createVfsService } from "./service";

const mongoUri = secret("MongoDBURI");

let instance: VfsApi | undefined;

/** The vfs service under Encore, built once on first use. */
export function vfs(): VfsApi {
  if (!instance) {
    const client = new MongoClient(mongoUri());
    instance = createVfsService({ mongo: client.db("kiln"), log: encoreLogger.child({ service: "vfs" }) });
  }
  return instance;
}
