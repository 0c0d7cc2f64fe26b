/**
 * `npm run demo`: the whole pipeline on one machine without network services. The standalone server
 * with embedded Postgres (in memory) and local sandboxes, the MongoDB stand-in (in memory: files are
 * not durable, and the dashboard says so), and the fake Messages API replaying a scripted agent
 * session that turns the vite-react template into a small app (its dependencies are installed on the
 * first run, from the npm registry, and kept for later runs). Prints the URL and a ready token; opens nothing by itself.
 */
import { existsSync } from "node:fs";
import { rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { execFileSync } from "node:child_process";
import { loadConfig } from "../lib/config";
import { createPinoLogger } from "../lib/log";
import { bootstrapLocalUser } from "../projects/users";
import { stopOnSignals } from "../server/process";
import { startServer } from "../server/start";
import { startFakeAnthropic } from "../test/fakes/anthropic/server";
import { starterAppSession } from "../test/fakes/anthropic/sessions/starter-app";
import { startFakeMongo } from "../test/fakes/mongo/server";
import { searchableTempDir } from "../test/support/isolation";
import { missingIsolationPrograms } from "../workspace/sandbox/boundary";

const root = resolve(fileURLToPath(new URL("..", import.meta.url)));

/** A running demo: where the dashboard is, the token to sign in with, and why its sandboxes are unconfined when they are. */
export interface Demo {
  url: string;
  token: string;
  /** Set when this machine cannot isolate sandboxes and the demo runs its scripted model's code unconfined. */
  unconfinedBecause?: string;
  close(): Promise<void>;
}

/** Builds the dashboard when its bundle is missing, so `/` serves it. */
function ensureDashboardBuilt(): void {
  if (existsSync(join(root, "frontend", "dist", "index.html"))) return;
  if (!existsSync(join(root, "frontend", "index.html"))) return;
  process.stderr.write("building the dashboard (first run only)...\n");
  execFileSync("npm", ["run", "--silent", "build:frontend"], { cwd: root, stdio: "inherit" });
}

/** Starts the offline demo. */
export async function startDemo(options: { port?: number; logLevel?: string } = {}): Promise<Demo> {
  ensureDashboardBuilt();
  const dataDir = await searchableTempDir("kiln-demo-");
  // The demo's model is our own script, so without bubblewrap its code may run unconfined: said on screen.
  const missing = process.env.KILN_SANDBOX_ISOLATION ? undefined : await missingIsolationPrograms();
  const mongo = await startFakeMongo();
  const model = await startFakeAnthropic({ script: starterAppSession });
  const config = loadConfig({
    ...process.env,
    PORT: String(options.port ?? process.env.PORT ?? 4000),
    KILN_DATA_DIR: dataDir,
    DATABASE_URL: undefined,
    KILN_SCHEMA_PREFIX: undefined,
    MONGODB_URI: mongo.uri,
    ANTHROPIC_BASE_URL: model.baseURL,
    ANTHROPIC_API_KEY: "sk-kiln-offline-demo",
    KILN_WORKSPACE_POLL_MS: "200",
    // Template dependencies are installed once per machine and kept: later demos run with no network.
    KILN_TEMPLATE_CACHE: process.env.KILN_TEMPLATE_CACHE ?? join(tmpdir(), "kiln-demo-template-cache"),
    // No spare workspaces: a pool would install and run every template (expo's 106 MB too) for a demo of one.
    KILN_WARM_POOL: process.env.KILN_WARM_POOL ?? "0",
    ...(missing ? { KILN_SANDBOX_ISOLATION: "none" } : {}),
  });
  const log = createPinoLogger(options.logLevel ?? process.env.LOG_LEVEL ?? "warn");
  const server = await startServer(config, log, { inMemoryDatabase: true });
  const user = await bootstrapLocalUser(server.kiln.databases.pool("projects"));
  return {
    url: server.url,
    token: user!.token,
    unconfinedBecause: missing,
    close: async () => {
      await server.shutdown();
      await model.close();
      await mongo.close();
      await rm(dataDir, { recursive: true, force: true });
    },
  };
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  startDemo().then(
    (demo) => {
      process.stdout.write(
        [
          "",
          "Kiln offline demo is running.",
          "",
          `  Dashboard:  ${demo.url}`,
          `  Token:      ${demo.token}`,
          "",
          "The model is a scripted stand-in that turns the vite-react starter into a small app; files live in an in-memory MongoDB",
          "stand-in and are NOT durable: everything is gone when this process stops (Ctrl-C).",
          "For the real thing: set ANTHROPIC_API_KEY and MONGODB_URI and run `npm start`.",
          "",
          ...(demo.unconfinedBecause
            ? [
                `!!! Sandboxes are UNCONFINED: ${demo.unconfinedBecause}. The demo's scripted model runs its own`,
                "!!! code on this machine. `npm start` refuses this; install bubblewrap and slirp4netns for isolation.",
                "",
              ]
            : []),
        ].join("\n"),
      );
      stopOnSignals(() => demo.close(), createPinoLogger("info"));
    },
    (err) => {
      process.stderr.write(`kiln demo: failed to start: ${err instanceof Error ? err.message : String(err)}\n`);
      process.exit(1);
    },
  );
}
