import { randomBytes } from "node:crypto";
import type pg from "pg";
import { openDatabases, dropSchemas, type Databases } from "../../lib/postgres";
import { DATABASE_OWNERS } from "../../server/compose";
import { memoryLogger } from "./kiln";

/** One service's database for a test file: its own schema on DATABASE_URL, else an in-memory PGlite. */
export interface TestDatabase {
  pool: pg.Pool;
  databases: Databases;
  close(): Promise<void>;
}

/** Opens and migrates `service`'s database for one test file. */
export async function openTestDatabase(service: "projects" | "workspace" | "ai"): Promise<TestDatabase> {
  const prefix = `t${randomBytes(4).toString("hex")}_`;
  const owner = DATABASE_OWNERS.find((o) => o.service === service)!;
  const databases = await openDatabases([owner], { url: process.env.DATABASE_URL, dataDir: null, schemaPrefix: prefix, log: memoryLogger("warn").log });
  return {
    pool: databases.pool(service),
    databases,
    close: async () => {
      await databases.close();
      if (process.env.DATABASE_URL) await dropSchemas(process.env.DATABASE_URL, [`${prefix}${service}`]);
    },
  };
}
