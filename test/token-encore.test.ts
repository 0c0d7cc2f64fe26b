/**
 * `npm run token -- --database-url <url>` on a database laid out as Encore provisions the projects
 * database: its own database, the tables in `public`, migrated by Encore (here by our migration files,
 * which are Encore's). What `encore db conn-uri projects` prints cannot be run here (no Encore CLI).
 */
import { execFile } from "node:child_process";
import { randomBytes } from "node:crypto";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { PGlite } from "@electric-sql/pglite";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { migrate } from "../lib/migrations";
import { servePglite } from "../lib/pglite-server";
import { authenticate } from "../projects/tokens";
import { DATABASE_OWNERS } from "../server/compose";

const run = promisify(execFile);
const TOKEN_SCRIPT = fileURLToPath(new URL("../scripts/token.ts", import.meta.url));
const projectsMigrations = DATABASE_OWNERS.find((o) => o.service === "projects")!.migrationsDir;

/** A fresh, empty database of its own: on DATABASE_URL's server, else an embedded PGlite on a socket. */
async function freshDatabase(): Promise<{ url: string; close(): Promise<void> }> {
  if (process.env.DATABASE_URL) {
    const name = `kiln_encore_${randomBytes(4).toString("hex")}`;
    const admin = new pg.Client({ connectionString: process.env.DATABASE_URL });
    await admin.connect();
    await admin.query(`CREATE DATABASE ${name}`);
    await admin.end();
    const url = new URL(process.env.DATABASE_URL);
    url.pathname = `/${name}`;
    return {
      url: url.toString(),
      close: async () => {
        const dropper = new pg.Client({ connectionString: process.env.DATABASE_URL });
        await dropper.connect();
        await dropper.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
        await dropper.end();
      },
    };
  }
  const db = await PGlite.create();
  const served = await servePglite(db);
  return {
    url: `postgres://postgres@127.0.0.1:${served.port}/postgres`,
    close: async () => {
      await served.close();
      await db.close();
    },
  };
}

/** Runs the token script; resolves with its exit code and output whatever the code. */
async function token(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await run(process.execPath, ["--import", "tsx", TOKEN_SCRIPT, ...args], { env: { ...process.env, LOG_LEVEL: "warn" } });
    return { code: 0, stdout, stderr };
  } catch (err) {
    const e = err as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}

const schemasOf = async (pool: pg.Pool) =>
  (await pool.query<{ nspname: string }>("SELECT nspname FROM pg_namespace WHERE nspname NOT LIKE 'pg\\_%' AND nspname <> 'information_schema' ORDER BY 1")).rows.map((r) => r.nspname);

let encoreDb: { url: string; close(): Promise<void> };
let emptyDb: { url: string; close(): Promise<void> };
let pool: pg.Pool;
let emptyPool: pg.Pool;

beforeAll(async () => {
  encoreDb = await freshDatabase();
  emptyDb = await freshDatabase();
  pool = new pg.Pool({ connectionString: encoreDb.url, max: 2 });
  emptyPool = new pg.Pool({ connectionString: emptyDb.url, max: 2 });
  // What Encore does before `encore run` serves: the service's migrations, in its database's public schema.
  await migrate(pool, "public", projectsMigrations);
});
afterAll(async () => {
  await pool?.end();
  await emptyPool?.end();
  await encoreDb?.close();
  await emptyDb?.close();
});

describe(`npm run token -- --database-url (Encore's projects database; ${process.env.DATABASE_URL ? "PostgreSQL server" : "embedded PGlite"})`, () => {
  it("creates the local user with its first token there, then manages that user's tokens, creating no schema", async () => {
    const schemasBefore = await schemasOf(pool);
    expect(await token("--database-url", encoreDb.url, "list")).toMatchObject({ code: 1, stderr: expect.stringContaining("no user yet: `npm run token -- create`") });

    const first = await token("--database-url", encoreDb.url, "create", "first");
    expect(first.code).toBe(0);
    const [firstToken, firstNote] = first.stdout.split("\n");
    expect(firstNote).toContain("the local user was created with it");
    expect((await pool.query("SELECT name FROM users")).rows).toEqual([{ name: "local" }]);
    const { userID } = await authenticate(pool, `Bearer ${firstToken}`);

    const second = await token(`--database-url=${encoreDb.url}`, "create", "second");
    const [secondToken, secondNote] = second.stdout.split("\n");
    const secondId = /^\(id (\S+);/.exec(secondNote ?? "")?.[1];
    await expect(authenticate(pool, `Bearer ${secondToken}`)).resolves.toEqual({ userID });
    const listed = await token("--database-url", encoreDb.url, "list");
    expect(listed.stdout.trim().split("\n")).toHaveLength(2);
    expect(listed.stdout).toContain(`${secondId}  `);

    expect(await token("--database-url", encoreDb.url, "revoke", secondId!)).toMatchObject({ code: 0, stdout: expect.stringContaining(`revoked ${secondId}`) });
    await expect(authenticate(pool, `Bearer ${secondToken}`)).rejects.toThrow("revoked");
    await expect(authenticate(pool, `Bearer ${firstToken}`)).resolves.toEqual({ userID });
    expect(await schemasOf(pool)).toEqual(schemasBefore);
  }, 60_000);

  it("refuses a database without Kiln's tables, saying which one to give, and leaves it untouched", async () => {
    const before = await schemasOf(emptyPool);
    const refused = await token("--database-url", emptyDb.url, "create");
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain("that database has no Kiln users and api_tokens tables");
    expect(refused.stderr).toContain("encore db conn-uri projects");
    expect(await schemasOf(emptyPool)).toEqual(before);
    expect((await emptyPool.query("SELECT to_regclass('users') AS users")).rows).toEqual([{ users: null }]);
  }, 30_000);

  it("refuses what is not a Postgres URL, and a missing command, with the usage", async () => {
    expect(await token("--database-url", "mysql://x/projects", "list")).toMatchObject({ code: 2, stderr: expect.stringContaining("--database-url must be a postgres:// URL") });
    expect(await token("--database-url", encoreDb.url)).toMatchObject({ code: 2, stderr: expect.stringContaining("usage: npm run token -- [--database-url <url>]") });
  }, 30_000);
});
