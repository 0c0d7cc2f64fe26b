import { randomBytes } from "node:crypto";
import { mkdtemp, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { memoryLogger } from "../test/support/kiln";
import { readMigrations } from "./migrations";
import { dropSchemas, openDatabases, type Databases } from "./postgres";

async function migrationsDir(files: Record<string, string>): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), "kiln-migrations-"));
  for (const [name, sql] of Object.entries(files)) await writeFile(join(dir, name), sql);
  return dir;
}

describe("reading migrations (Encore's naming rules)", () => {
  it("orders them by number, not by name", async () => {
    const dir = await migrationsDir({ "10_later.up.sql": "SELECT 1", "2_second.up.sql": "SELECT 1", "1_first.up.sql": "SELECT 1" });
    expect((await readMigrations(dir)).map((m) => m.file)).toEqual(["1_first.up.sql", "2_second.up.sql", "10_later.up.sql"]);
  });

  it.each([["seed.sql"], ["1_init.v2.up.sql"], ["1_init.down.sql"]])("refuses the file name %s", async (name) => {
    const dir = await migrationsDir({ "1_ok.up.sql": "SELECT 1", [name]: "SELECT 1" });
    await expect(readMigrations(dir)).rejects.toThrow(`${name}: migration files must be named N_name.up.sql`);
  });

  it("refuses a number used twice", async () => {
    const dir = await migrationsDir({ "1_a.up.sql": "SELECT 1", "01_b.up.sql": "SELECT 1" });
    await expect(readMigrations(dir)).rejects.toThrow("migration number 1 is used twice");
  });
});

describe(`per-service databases (${process.env.DATABASE_URL ? "Postgres server" : "embedded PGlite"})`, () => {
  const prefix = `t${randomBytes(4).toString("hex")}_`;
  const { log } = memoryLogger();
  let databases: Databases;
  let dirs: { alpha: string; beta: string };

  beforeAll(async () => {
    dirs = {
      alpha: await migrationsDir({
        "1_create_alpha.up.sql": "CREATE TABLE alpha_items (id int PRIMARY KEY, name text NOT NULL);",
        "2_add_alpha_note.up.sql": "ALTER TABLE alpha_items ADD COLUMN note text;",
      }),
      beta: await migrationsDir({ "1_create_beta.up.sql": "CREATE TABLE beta_items (id int PRIMARY KEY);" }),
    };
    databases = await openDatabases(
      [
        { service: "alpha", migrationsDir: dirs.alpha },
        { service: "beta", migrationsDir: dirs.beta },
      ],
      { url: process.env.DATABASE_URL, dataDir: null, schemaPrefix: prefix, log },
    );
  });
  afterAll(async () => {
    await databases?.close();
    if (process.env.DATABASE_URL) await dropSchemas(process.env.DATABASE_URL, [`${prefix}alpha`, `${prefix}beta`]);
  });

  it("applies each service's migrations into its own schema and records them", async () => {
    const alpha = databases.pool("alpha");
    await alpha.query("INSERT INTO alpha_items (id, name, note) VALUES (1, 'one', 'from the 2nd migration')");
    const tables = await alpha.query(
      "SELECT table_schema, table_name FROM information_schema.tables WHERE table_schema LIKE $1 AND table_name <> 'schema_migrations' ORDER BY 1",
      [`${prefix}%`],
    );
    expect(tables.rows).toEqual([
      { table_schema: `${prefix}alpha`, table_name: "alpha_items" },
      { table_schema: `${prefix}beta`, table_name: "beta_items" },
    ]);
    const versions = await alpha.query(`SELECT version FROM "${prefix}alpha".schema_migrations ORDER BY version`);
    expect(versions.rows.map((r) => Number(r.version))).toEqual([1, 2]);
  });

  it("rolls back a failing migration and names its file", async () => {
    const { migrate } = await import("./migrations");
    const broken = await migrationsDir({ "1_create_alpha.up.sql": "SELECT 1", "3_broken.up.sql": "CREATE TABLE gamma (id int); SELECT * FROM no_such_table;" });
    await expect(migrate(databases.pool("alpha"), `${prefix}alpha`, broken)).rejects.toThrow(/migration 3_broken.up.sql of schema .*alpha failed/);
    const gamma = await databases.pool("alpha").query("SELECT to_regclass($1) AS t", [`"${prefix}alpha".gamma`]);
    expect(gamma.rows[0].t).toBeNull();
  });

  it("lets concurrent claimers share rows with FOR UPDATE SKIP LOCKED, each row claimed once", async () => {
    const pool = databases.pool("beta");
    await pool.query("INSERT INTO beta_items (id) SELECT generate_series(1, 40)");
    const claimer = async (): Promise<number[]> => {
      const claimed: number[] = [];
      for (;;) {
        const client = await pool.connect();
        try {
          await client.query("BEGIN");
          const row = await client.query("SELECT id FROM beta_items ORDER BY id LIMIT 1 FOR UPDATE SKIP LOCKED");
          if (row.rowCount === 0) {
            await client.query("COMMIT");
            return claimed;
          }
          await client.query("DELETE FROM beta_items WHERE id = $1", [row.rows[0].id]);
          await client.query("COMMIT");
          claimed.push(row.rows[0].id);
        } finally {
          client.release();
        }
      }
    };
    const results = await Promise.all([claimer(), claimer(), claimer(), claimer()]);
    const all = results.flat().sort((a, b) => a - b);
    expect(all).toEqual(Array.from({ length: 40 }, (_, i) => i + 1));
  });

  it("keeps concurrent connections' statements and transactions apart", async () => {
    const pool = databases.pool("alpha");
    await pool.query("INSERT INTO alpha_items (id, name) VALUES (100, 'counter') ON CONFLICT (id) DO NOTHING");
    await pool.query("UPDATE alpha_items SET note = '0' WHERE id = 100");
    const sums = Array.from({ length: 60 }, (_, i) => pool.query<{ n: number }>("SELECT $1::int + $2::int AS n", [i, 1000]).then((r) => r.rows[0]!.n));
    const increments = Array.from({ length: 20 }, async () => {
      const client = await pool.connect();
      try {
        await client.query("BEGIN");
        const current = await client.query<{ note: string }>("SELECT note FROM alpha_items WHERE id = $1 FOR UPDATE", [100]);
        await client.query("UPDATE alpha_items SET note = $1 WHERE id = $2", [String(Number(current.rows[0]!.note) + 1), 100]);
        await client.query("COMMIT");
      } finally {
        client.release();
      }
    });
    expect(await Promise.all(sums)).toEqual(Array.from({ length: 60 }, (_, i) => i + 1000));
    await Promise.all(increments);
    expect((await pool.query("SELECT note FROM alpha_items WHERE id = 100")).rows[0].note).toBe("20");
  });

  it("rolls back the transaction of a client that vanishes in it (a killed process), and serves the others on", async () => {
    const pool = databases.pool("alpha");
    await pool.query("INSERT INTO alpha_items (id, name, note) VALUES (200, 'vanishing', 'before') ON CONFLICT (id) DO UPDATE SET note = 'before'");
    const client = await pool.connect();
    await client.query("BEGIN");
    await client.query("UPDATE alpha_items SET note = 'uncommitted' WHERE id = 200");
    // As when its process is killed: the socket closes, no ROLLBACK or Terminate is sent.
    (client as unknown as { connection: { stream: { destroy(): void } } }).connection.stream.destroy();
    client.release(new Error("gone"));
    const answer = pool.query<{ note: string }>("SELECT note FROM alpha_items WHERE id = 200");
    const stuck = new Promise<never>((_, reject) => setTimeout(() => reject(new Error("no answer within 10 s after a client vanished mid-transaction")), 10_000).unref());
    expect((await Promise.race([answer, stuck])).rows[0]!.note).toBe("before");
  });
});
