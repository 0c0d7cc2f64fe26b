import { mkdir, readFile, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { PGlite } from "@electric-sql/pglite";
import pg from "pg";
import type { Logger } from "./log";
import { assertIdentifier, migrate } from "./migrations";
import { isAlive } from "./pids";
import { servePglite } from "./pglite-server";

/** A service that owns a Postgres database (a schema, standalone) and its migrations. */
export interface DatabaseOwner {
  service: string;
  migrationsDir: string;
}

/** The Postgres pools of every service, opened and migrated. */
export interface Databases {
  /** "postgres" for a server at DATABASE_URL, "pglite" for the embedded database. */
  readonly kind: "postgres" | "pglite";
  /** The pool of `service`: its unqualified table names resolve to the service's own schema. */
  pool(service: string): pg.Pool;
  /** Schema name of `service` (the service name, with the optional test prefix). */
  schema(service: string): string;
  /** A URL other processes can connect with (for PGlite: its local socket, while this process runs). */
  readonly url: string;
  /** Cuts every connection of this process, as a database restart would; the pools reconnect. */
  dropConnections(): Promise<void>;
  close(): Promise<void>;
}

/** Where the databases live. */
export interface DatabaseOptions {
  /** A Postgres server; otherwise an embedded PGlite database. */
  url?: string;
  /** PGlite's data directory parent; `null` keeps PGlite in memory (tests). */
  dataDir: string | null;
  /** Prepended to every schema name, so test files sharing one server stay isolated. */
  schemaPrefix?: string;
  /** Connections per pool. */
  maxConnections?: number;
  log: Logger;
}

/**
 * Opens one schema per service (Encore's database per service, standalone) and applies each service's
 * migrations. With a server every pool pins `search_path` to its schema. PGlite is one database with a
 * single shared session, so there the migrations run inside their own schema and the shared
 * `search_path` lists every service's schema (table names are unique across services; a test holds it).
 */
export async function openDatabases(owners: DatabaseOwner[], options: DatabaseOptions): Promise<Databases> {
  const prefix = options.schemaPrefix ?? "";
  const schemas = new Map(owners.map((o) => [o.service, assertIdentifier(`${prefix}${o.service}`)]));
  const schemaOf = (service: string): string => {
    const schema = schemas.get(service);
    if (!schema) throw new Error(`no database declared for service ${service}`);
    return schema;
  };
  const max = options.maxConnections ?? 10;

  // Names this process's connections, so `dropConnections` cuts only its own on a shared server.
  const applicationName = `kiln-${process.pid}-${prefix || "main"}`;
  if (options.url) {
    const pools = new Map<string, pg.Pool>();
    for (const owner of owners) {
      const schema = schemaOf(owner.service);
      const pool = new pg.Pool({ connectionString: options.url, max, options: `-c search_path=${schema}`, application_name: applicationName });
      pool.on("error", (err) => options.log.warn("idle postgres connection failed", { service: owner.service, reason: err.message }));
      pools.set(owner.service, pool);
      try {
        await migrate(pool, schema, owner.migrationsDir);
      } catch (err) {
        // A start that fails here is retried (server/compose.ts): its pools must not stay open meanwhile.
        await Promise.all([...pools.values()].map((p) => p.end().catch(() => undefined)));
        throw err;
      }
    }
    const serverUrl = options.url;
    return {
      kind: "postgres",
      url: serverUrl,
      dropConnections: async () => {
        const admin = new pg.Client({ connectionString: serverUrl });
        await admin.connect();
        try {
          await admin.query("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = $1", [applicationName]);
        } finally {
          await admin.end();
        }
      },
      pool: (service) => pools.get(service) ?? fail(service),
      schema: schemaOf,
      close: async () => {
        await Promise.all([...pools.values()].map((p) => p.end()));
      },
    };
  }

  const embedded = await startEmbedded(options.dataDir);
  const pool = new pg.Pool({ host: "127.0.0.1", port: embedded.port, user: "postgres", database: "postgres", max });
  pool.on("error", (err) => options.log.warn("idle embedded postgres connection failed", { reason: err.message }));
  for (const owner of owners) await migrate(pool, schemaOf(owner.service), owner.migrationsDir);
  const searchPath = [...schemas.values()].map((s) => `"${s}"`).join(", ");
  await pool.query(`SET search_path TO ${searchPath}`);
  return {
    kind: "pglite",
    url: `postgres://postgres@127.0.0.1:${embedded.port}/postgres`,
    dropConnections: async () => embedded.dropClients(),
    pool: (service) => (schemas.has(service) ? pool : fail(service)),
    schema: schemaOf,
    close: async () => {
      await pool.end();
      await embedded.stop();
    },
  };
}

function fail(service: string): never {
  throw new Error(`no database declared for service ${service}`);
}

/** Removes the schemas of a test run from a Postgres server. */
export async function dropSchemas(url: string, schemas: string[]): Promise<void> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    for (const schema of schemas) await client.query(`DROP SCHEMA IF EXISTS "${assertIdentifier(schema)}" CASCADE`);
  } finally {
    await client.end();
  }
}

/** PGlite's files are one process's: a second process opening them would corrupt them. */
async function lockDataDir(location: string): Promise<() => Promise<void>> {
  const lock = join(location, "..", "pglite.lock");
  const holder = Number(await readFile(lock, "utf8").catch(() => ""));
  if (holder && holder !== process.pid && isAlive(holder)) {
    throw new Error(
      `the embedded database in ${location} is in use by process ${holder} (a running \`npm start\`?): stop it first, or set DATABASE_URL to share a Postgres server`,
    );
  }
  await writeFile(lock, String(process.pid));
  return () => rm(lock, { force: true });
}

async function startEmbedded(dataDir: string | null) {
  let location: string | undefined;
  let unlock = async () => undefined as void;
  if (dataDir !== null) {
    location = join(dataDir, "pglite");
    await mkdir(location, { recursive: true });
    unlock = await lockDataDir(location);
  }
  const db = await PGlite.create(location);
  const server = await servePglite(db);
  return {
    port: server.port,
    dropClients: server.dropClients,
    stop: async () => {
      await server.close();
      await db.close();
      await unlock();
    },
  };
}
