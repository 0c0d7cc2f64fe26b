import { randomBytes } from "node:crypto";
import { createServer, connect, type Server, type Socket } from "node:net";
import { PGlite } from "@electric-sql/pglite";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadConfig } from "../lib/config";
import { dropSchemas } from "../lib/postgres";
import { servePglite } from "../lib/pglite-server";
import { memoryLogger } from "../test/support/kiln";
import { reservePort } from "../test/support/ports";
import { DATABASE_OWNERS, openKilnDatabases } from "./compose";

/** The Postgres the late server forwards to: DATABASE_URL's, else an embedded PGlite served on a socket. */
let upstream: { host: string; port: number; url: (port: number) => string; close(): Promise<void> };

beforeAll(async () => {
  if (process.env.DATABASE_URL) {
    const url = new URL(process.env.DATABASE_URL);
    upstream = {
      host: url.hostname,
      port: Number(url.port || 5432),
      url: (port) => Object.assign(new URL(process.env.DATABASE_URL!), { port: String(port) }).toString(),
      close: async () => undefined,
    };
  } else {
    const db = await PGlite.create();
    const served = await servePglite(db);
    upstream = {
      host: "127.0.0.1",
      port: served.port,
      url: (port) => `postgres://postgres@127.0.0.1:${port}/postgres`,
      close: async () => {
        await served.close();
        await db.close();
      },
    };
  }
});
afterAll(async () => upstream?.close());

/** Starts forwarding `port` to the upstream Postgres: the database server "comes up". */
async function comeUp(port: number): Promise<Server> {
  const sockets = new Set<Socket>();
  const proxy = createServer((client) => {
    const server = connect(upstream.port, upstream.host);
    for (const s of [client, server]) {
      sockets.add(s);
      s.on("close", () => sockets.delete(s));
      s.on("error", () => undefined);
    }
    client.pipe(server).pipe(client);
  });
  await new Promise<void>((resolve) => proxy.listen(port, "127.0.0.1", resolve));
  proxy.on("close", () => sockets.forEach((s) => s.destroy()));
  return proxy;
}

const retries = (lines: Record<string, unknown>[]) => lines.filter((l) => l.msg === "the Postgres databases could not start yet; retrying");

describe("the standalone start when Postgres is not up yet", () => {
  it("retries with growing waits, logging each attempt, and opens the databases once the server answers", async () => {
    const port = await reservePort();
    const prefix = `t${randomBytes(4).toString("hex")}_`;
    const config = loadConfig({ DATABASE_URL: upstream.url(port), KILN_SCHEMA_PREFIX: prefix });
    const { log, lines } = memoryLogger("debug");
    let proxy: Server | undefined;
    const late = setTimeout(async () => (proxy = await comeUp(port)), 700);
    try {
      const databases = await openKilnDatabases(config, log, { databaseRetry: { attempts: 10, firstDelayMs: 100, maxDelayMs: 400 } });
      try {
        const result = await databases.pool("projects").query(`SELECT count(*)::int AS n FROM "${databases.schema("projects")}".users`);
        expect(result.rows).toEqual([{ n: 0 }]);
      } finally {
        await databases.close();
      }
      const attempts = retries(lines);
      expect(attempts.length).toBeGreaterThanOrEqual(2);
      expect(attempts.map((l) => l.retryInMs).slice(0, 3)).toEqual([100, 200, 400].slice(0, Math.min(3, attempts.length)));
      expect((attempts[0]!.err as { message: string }).message).toContain("ECONNREFUSED");
      expect(lines.some((l) => l.msg === "the Postgres databases started")).toBe(true);
    } finally {
      clearTimeout(late);
      await new Promise((resolve) => (proxy ? proxy.close(resolve) : resolve(undefined)));
      if (process.env.DATABASE_URL) await dropSchemas(process.env.DATABASE_URL, DATABASE_OWNERS.map((o) => `${prefix}${o.service}`));
    }
  }, 30_000);

  it("is bounded: a server that never comes up stops the start with the reason after the last attempt", async () => {
    const port = await reservePort();
    const config = loadConfig({ DATABASE_URL: upstream.url(port) });
    const { log, lines } = memoryLogger("debug");
    await expect(openKilnDatabases(config, log, { databaseRetry: { attempts: 3, firstDelayMs: 50, maxDelayMs: 50 } })).rejects.toThrow(/ECONNREFUSED/);
    expect(retries(lines)).toHaveLength(2);
    expect(lines.filter((l) => l.msg === "the Postgres databases failed to start")).toHaveLength(1);
  });
});
