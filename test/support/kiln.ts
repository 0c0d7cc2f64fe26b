import { randomBytes } from "node:crypto";
import { rm } from "node:fs/promises";
import { Writable } from "node:stream";
import { loadConfig, type Config } from "../../lib/config";
import { TEST_TEMPLATE_CACHE } from "./templates";
import { createPinoLogger, type Logger } from "../../lib/log";
import { dropSchemas } from "../../lib/postgres";
import { issueToken } from "../../projects/tokens";
import { createUser } from "../../projects/users";
import { DATABASE_OWNERS, type ComposeOptions } from "../../server/compose";
import { startServer, type RunningServer } from "../../server/start";
import type { Workspace, WorkspaceApi } from "../../workspace/contract";
import { scriptedSessionIsolation, searchableTempDir } from "./isolation";
import { reservePorts } from "./ports";

/** A Kiln server for one test file, with its own database and every log line it wrote. */
export interface TestKiln extends RunningServer {
  config: Config;
  /** Every log line, as parsed JSON, so tests can assert on what operators would see. */
  logs: Record<string, unknown>[];
  /** Every log line as written. */
  logText(): string;
  /** A new user with an API token. */
  createUser(name: string): Promise<{ userID: string; token: string }>;
  close(): Promise<void>;
}

/** A logger that keeps its JSON lines in memory. */
export function memoryLogger(level = "debug"): { log: Logger; lines: Record<string, unknown>[]; text: () => string } {
  const lines: Record<string, unknown>[] = [];
  const raw: string[] = [];
  const sink = new Writable({
    write(chunk, _encoding, done) {
      for (const line of String(chunk).split("\n").filter(Boolean)) {
        raw.push(line);
        lines.push(JSON.parse(line));
      }
      done();
    },
  });
  return { log: createPinoLogger(level, sink), lines, text: () => raw.join("\n") };
}

/**
 * Starts the standalone server on a free port. With `DATABASE_URL` set, the file gets its own schemas
 * on that server (dropped afterwards); without, an in-memory PGlite of its own, or with
 * `inMemoryDatabase: false` one under `KILN_DATA_DIR` that another server (or script) given the same
 * `KILN_DATA_DIR` and `KILN_SCHEMA_PREFIX` opens after `shutdown`. `close` removes both.
 */
export async function startTestKiln(
  env: Record<string, string | undefined> = {},
  options: ComposeOptions = { inMemoryDatabase: true },
): Promise<TestKiln> {
  const schemaPrefix = env.KILN_SCHEMA_PREFIX ?? `t${randomBytes(4).toString("hex")}_`;
  const dataDir = env.KILN_DATA_DIR ?? (await searchableTempDir("kiln-test-"));
  const [firstPort, lastPort] = await reservePorts(20);
  const config: Config = loadConfig({
    ...process.env,
    PORT: "0",
    HOST: "127.0.0.1",
    KILN_DATA_DIR: dataDir,
    KILN_PREVIEW_PORTS: `${firstPort}-${lastPort}`,
    KILN_SCHEMA_PREFIX: schemaPrefix,
    KILN_SANDBOX_ISOLATION: scriptedSessionIsolation("the test server"),
    // Projects of tests that name no template start empty, as their scripted sessions expect; the
    // template tests name theirs, and share one installation per template version across test files.
    KILN_DEFAULT_TEMPLATE: "blank",
    // No spare workspaces (idle dev servers) unless a test of the pool asks for them.
    KILN_WARM_POOL: "0",
    KILN_TEMPLATE_CACHE: TEST_TEMPLATE_CACHE,
    ...env,
  });
  const { log, lines, text } = memoryLogger();
  const server = await startServer(config, log, options);
  return {
    ...server,
    config,
    logs: lines,
    logText: text,
    createUser: async (name) => {
      const db = server.kiln.databases.pool("projects");
      const userID = await createUser(db, name);
      const { token } = await issueToken(db, userID, "test");
      return { userID, token };
    },
    close: async () => {
      await server.shutdown();
      if (config.databaseUrl) await dropSchemas(config.databaseUrl, DATABASE_OWNERS.map((o) => `${schemaPrefix}${o.service}`));
      await rm(dataDir, { recursive: true, force: true });
    },
  };
}

/** A new workspace of the project, once it is running. */
export async function runningWorkspace(workspace: Pick<WorkspaceApi, "create" | "get">, projectId: string): Promise<Workspace> {
  const created = await workspace.create({ projectId });
  for (;;) {
    const ws = await workspace.get({ id: created.id });
    if (ws.status === "running") return ws;
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}
