import { spawn, type ChildProcess } from "node:child_process";
import { fileURLToPath } from "node:url";
import type { TestKiln } from "./kiln";
import type { TestMongo } from "./mongo";

/**
 * `npm run worker` as a real child process, sharing the test server's database, vfs and sandboxes, with
 * a short lease (a killed worker's jobs are taken over 1.5 s later). Set KILN_WORKER_LOG to see its log.
 */
export function startWorker(kiln: TestKiln, mongo: TestMongo, env: { ANTHROPIC_BASE_URL: string; ANTHROPIC_API_KEY: string } & Record<string, string>): ChildProcess {
  const { config } = kiln;
  return spawn(process.execPath, ["--import", "tsx", fileURLToPath(new URL("../../server/worker.ts", import.meta.url))], {
    env: {
      ...process.env,
      DATABASE_URL: kiln.kiln.databases.url,
      KILN_SCHEMA_PREFIX: config.schemaPrefix,
      KILN_DATA_DIR: config.dataDir,
      KILN_SANDBOX_ISOLATION: config.sandboxIsolation,
      KILN_PREVIEW_PORTS: `${config.previewPorts[0]}-${config.previewPorts[1]}`,
      MONGODB_URI: mongo.uri,
      KILN_MONGODB_DATABASE: mongo.databaseName,
      KILN_RUNNER_CONCURRENCY: "1",
      KILN_RUNNER_LEASE_MS: "1500",
      KILN_WORKSPACE_POLL_MS: "50",
      LOG_LEVEL: process.env.KILN_WORKER_LOG ?? "warn",
      ...env,
    },
    stdio: ["ignore", "ignore", process.env.KILN_WORKER_LOG ? "inherit" : "pipe"],
  });
}

/**
 * Rejects, with the worker's exit status and the end of what it wrote to stderr, if it exits before the
 * test stops it: a test waiting on its jobs then fails saying why, instead of waiting for them forever.
 */
export function unexpectedExit(worker: ChildProcess): Promise<never> {
  let tail = "";
  worker.stderr?.on("data", (chunk: Buffer) => (tail = (tail + chunk.toString("utf8")).slice(-4000)));
  return new Promise<never>((_resolve, reject) => {
    worker.once("exit", (code, signal) => {
      if (signal !== "SIGKILL" && signal !== "SIGTERM") reject(new Error(`the worker exited (${signal ?? `code ${code}`}) before its jobs ended: ${tail}`));
    });
  });
}
