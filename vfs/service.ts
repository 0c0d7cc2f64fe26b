import type { Db } from "mongodb";
import { runCheck, summarize } from "../lib/health";
import type { Logger } from "../lib/log";
import type { VfsApi } from "./contract";

/** What the vfs service needs from its host: its MongoDB database, when one is configured. */
export interface VfsDeps {
  mongo: Db | null;
  log: Logger;
}

/** The vfs service, framework-free. */
export function createVfsService(deps: VfsDeps): VfsApi {
  return {
    async health() {
      const mongo = await runCheck("mongodb", async () => {
        if (!deps.mongo) throw new Error("MONGODB_URI is not set");
        await deps.mongo.command({ ping: 1 });
      });
      return summarize("vfs", [mongo]);
    },
  };
}
