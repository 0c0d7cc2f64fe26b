import { describe, expect, it } from "vitest";
import { readMigrations } from "../lib/migrations";
import { DATABASE_OWNERS } from "./compose";

describe("the services' databases", () => {
  it("never create the same table name twice (embedded PGlite shares one search_path)", async () => {
    const owner = new Map<string, string>();
    for (const { service, migrationsDir } of DATABASE_OWNERS) {
      for (const migration of await readMigrations(migrationsDir)) {
        for (const [, table] of migration.sql.matchAll(/CREATE TABLE (?:IF NOT EXISTS )?"?(\w+)"?/gi)) {
          expect(owner.get(table!), `${table} is created by ${owner.get(table!)} and ${service}`).toBeUndefined();
          owner.set(table!, service);
        }
      }
    }
    expect(owner.size).toBeGreaterThanOrEqual(3);
  });
});
