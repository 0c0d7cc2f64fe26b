import { readdir, readFile } from "node:fs/promises";
import { join } from "node:path";
import type pg from "pg";

/** One migration file, following Encore's naming: `N_name.up.sql`. */
export interface Migration {
  version: number;
  name: string;
  file: string;
  sql: string;
}

const MIGRATION_FILE = /^(\d+)_([A-Za-z0-9_-]+)\.up\.sql$/;

/**
 * Reads a service's migrations directory in version order. Refuses what Encore refuses: a `.sql` file
 * not named `N_name.up.sql`, and two files with the same number.
 */
export async function readMigrations(dir: string): Promise<Migration[]> {
  const entries = await readdir(dir);
  const migrations: Migration[] = [];
  const seen = new Map<number, string>();
  for (const file of entries.sort()) {
    if (!file.endsWith(".sql")) continue;
    const match = MIGRATION_FILE.exec(file);
    if (!match) {
      throw new Error(`${join(dir, file)}: migration files must be named N_name.up.sql (e.g. 1_create_tables.up.sql)`);
    }
    const version = Number(match[1]);
    const clash = seen.get(version);
    if (clash) throw new Error(`${dir}: migration number ${version} is used twice (${clash} and ${file})`);
    seen.set(version, file);
    migrations.push({ version, name: match[2]!, file, sql: await readFile(join(dir, file), "utf8") });
  }
  return migrations.sort((a, b) => a.version - b.version);
}

/** A Postgres identifier we create ourselves (schema names): lower-case letters, digits, underscores. */
export function assertIdentifier(name: string): string {
  if (!/^[a-z_][a-z0-9_]{0,62}$/.test(name)) throw new Error(`invalid schema name ${JSON.stringify(name)}`);
  return name;
}

/**
 * Applies the pending migrations of `dir` to `schema`, each in its own transaction, recording each
 * applied version in `<schema>.schema_migrations`. An advisory lock per schema lets several processes
 * start at once: one applies, the others see the versions recorded. Returns the versions applied.
 */
export async function migrate(pool: pg.Pool, schema: string, dir: string): Promise<number[]> {
  assertIdentifier(schema);
  const migrations = await readMigrations(dir);
  await pool.query(`CREATE SCHEMA IF NOT EXISTS "${schema}"`);
  await pool.query(
    `CREATE TABLE IF NOT EXISTS "${schema}".schema_migrations (version bigint PRIMARY KEY, dirty boolean NOT NULL DEFAULT false, applied_at timestamptz NOT NULL DEFAULT now())`,
  );
  const applied: number[] = [];
  for (const migration of migrations) {
    const client = await pool.connect();
    try {
      await client.query("BEGIN");
      await client.query("SELECT pg_advisory_xact_lock(hashtext($1))", [`kiln-migrate:${schema}`]);
      await client.query(`SET LOCAL search_path TO "${schema}"`);
      const done = await client.query(`SELECT 1 FROM "${schema}".schema_migrations WHERE version = $1`, [migration.version]);
      if (done.rowCount === 0) {
        await client.query(migration.sql);
        await client.query(`INSERT INTO "${schema}".schema_migrations (version) VALUES ($1)`, [migration.version]);
        applied.push(migration.version);
      }
      await client.query("COMMIT");
    } catch (err) {
      await client.query("ROLLBACK").catch(() => undefined);
      const reason = err instanceof Error ? err.message : String(err);
      throw new Error(`migration ${migration.file} of schema ${schema} failed: ${reason}`);
    } finally {
      client.release();
    }
  }
  return applied;
}
