/**
 * `npm run bench`: every benchmark, side by side in one run, printed as the README's table (and written
 * to test/bench/results.md); `npm run bench -- load soak` runs only those named (see BENCHES).
 *
 * The service benchmarks (boundary … checks) run Kiln in this process with in-process stand-ins for
 * MongoDB and the model, local sandboxes (template installs need the npm registry). The load benchmarks
 * run the server (with its runner) in a process of its own and the stand-ins in another, and measure the
 * server process alone, once on embedded PGlite and once on DATABASE_URL when it is set
 * (`BENCH_DATABASES=pglite,postgres` to choose). `BENCH_LOAD=1,5,20,50` is the load curve (default
 * 20), each N kept busy for `BENCH_LOAD_SECONDS` (default 30); `BENCH_PROFILE_N` (default 50) is run
 * again on DATABASE_URL with a CPU profile; the soak keeps 10 generations running for
 * `BENCH_SOAK_SECONDS` (default 600).
 */
import { writeFile } from "node:fs/promises";
import { cpus, totalmem } from "node:os";
import type { ProjectsApi } from "../../projects/contract";
import type { VfsApi } from "../../vfs/contract";
import type { WorkspaceApi } from "../../workspace/contract";
import { startFakeAnthropic } from "../fakes/anthropic/server";
import { helloAppSession } from "../fakes/anthropic/sessions/hello-app";
import { runningWorkspace, startTestKiln, type TestKiln } from "../support/kiln";
import { startTestMongo, type TestMongo } from "../support/mongo";
import { benchBoundary } from "./boundary";
import { benchChecks } from "./checks";
import { benchLoad, benchProfile, benchSoak } from "./load";
import { type BenchRow } from "./measure";
import { benchPromptCache } from "./prompt-cache";
import { benchShare } from "./share";
import { benchTemplates } from "./templates";
import { benchTerminal } from "./terminal";
import { benchBackup, benchDaytonaBackup } from "./vfs-backup";
import { benchRestore } from "./versions";
import { benchWorkspace } from "./workspace";

/** Kiln in this process, for the service benchmarks; started by the first one that needs it. */
interface InProcess {
  kiln: TestKiln;
  mongo: TestMongo;
  userID: string;
  workspace: WorkspaceApi;
  vfs: VfsApi;
  projects: ProjectsApi;
}

let inProcess: Promise<InProcess> | undefined;
const closers: (() => Promise<void>)[] = [];

function local(): Promise<InProcess> {
  inProcess ??= (async () => {
    const mongo = await startTestMongo();
    const model = await startFakeAnthropic({ script: helloAppSession });
    const kiln = await startTestKiln({
      MONGODB_URI: mongo.uri,
      KILN_MONGODB_DATABASE: mongo.databaseName,
      ANTHROPIC_BASE_URL: model.baseURL,
      ANTHROPIC_API_KEY: "sk-bench",
      KILN_WORKSPACE_POLL_MS: "20",
      KILN_PREVIEW_PORTS: "30300-30599",
      // The share listener, for the share benchmark's own-host row (links named under share.localhost).
      KILN_SHARE_PORT: "0",
      KILN_SHARE_ORIGIN: "http://share.localhost",
      LOG_LEVEL: "warn",
    });
    closers.push(() => kiln.close(), () => model.close(), () => mongo.close());
    const { userID } = await kiln.createUser("bench");
    const impl = <T>(name: string) => kiln.kiln.services.find((s) => s.name === name)!.impl as T;
    return { kiln, mongo, userID, workspace: impl<WorkspaceApi>("workspace"), vfs: impl<VfsApi>("vfs"), projects: impl<ProjectsApi>("projects") };
  })();
  return inProcess;
}

/** Every benchmark by name, in the order a full run takes them. */
const BENCHES: Record<string, () => Promise<BenchRow[]>> = {
  boundary: () => benchBoundary(),
  "prompt-cache": () => benchPromptCache(),
  workspace: async () => {
    const { workspace } = await local();
    const ws = await runningWorkspace(workspace, "bench-workspace");
    return benchWorkspace(workspace, ws.id);
  },
  backup: async () => {
    const { workspace, vfs, projects, mongo, userID } = await local();
    const auth = { userID };
    const project = await projects.create({ name: "bench backup" }, auth);
    const ws = await runningWorkspace(workspace, project.id);
    return [
      ...(await benchBackup({ provider: "local", workspace, vfs, db: mongo.db, projectId: project.id, workspaceId: ws.id, auth, network: "local sandbox (no network)" })),
      ...(await benchRestore({ workspace, vfs, projects, projectId: project.id, workspaceId: ws.id, auth })),
      ...(await benchDaytonaBackup(mongo)),
    ];
  },
  share: async () => {
    const { kiln, workspace, projects, userID } = await local();
    return benchShare({ kilnUrl: kiln.url, shareUrl: kiln.shareUrl, workspace, projects, auth: { userID } });
  },
  load: () => benchLoad(),
  profile: () => benchProfile(),
  soak: () => benchSoak(),
  templates: async () => benchTemplates((await local()).workspace),
  checks: async () => benchChecks((await local()).workspace),
  terminal: async () => benchTerminal(await local()),
};

async function main(): Promise<void> {
  const asked = process.argv.slice(2);
  const unknown = asked.filter((name) => !(name in BENCHES));
  if (unknown.length > 0) throw new Error(`no benchmark ${unknown.join(", ")}; choose from ${Object.keys(BENCHES).join(", ")}`);
  const names = asked.length > 0 ? asked : Object.keys(BENCHES);
  const rows: BenchRow[] = [];
  const started = new Date();
  try {
    for (const name of names) {
      process.stderr.write(`bench: ${name} (${new Date().toISOString().slice(11, 19)})\n`);
      try {
        rows.push(...(await BENCHES[name]!()));
      } catch (err) {
        // One benchmark that fails does not lose the others' figures of a long run: it is a row of its own.
        process.stderr.write(`bench: ${name} failed: ${err instanceof Error ? err.stack : String(err)}\n`);
        rows.push({ benchmark: name, measure: "FAILED", value: "-", note: (err instanceof Error ? err.message : String(err)).replace(/\s+/g, " ").replace(/\|/g, "/").slice(0, 300) });
      }
    }
  } finally {
    for (const close of closers.reverse()) await close().catch(() => undefined);
  }
  const minutes = Math.round((Date.now() - started.getTime()) / 60_000);
  const table = [
    `Measured ${started.toISOString().slice(0, 16).replace("T", " ")} UTC in one run of ${minutes} min (${names.join(", ")}) on ${cpus().length} cores (${cpus()[0]?.model.trim()}), ${Math.round(totalmem() / 2 ** 30)} GiB, Node ${process.version}; DATABASE_URL ${process.env.DATABASE_URL ? "set" : "unset"}.`,
    "",
    "| benchmark | measure | value | note |",
    "| --- | --- | --- | --- |",
    ...rows.map((r) => `| ${r.benchmark} | ${r.measure} | ${r.value} | ${r.note ?? ""} |`),
  ].join("\n");
  process.stdout.write(`${table}\n`);
  await writeFile(new URL("./results.md", import.meta.url), `${table}\n`);
  process.exit(0);
}

main().catch((err) => {
  process.stderr.write(`bench failed: ${err instanceof Error ? err.stack : String(err)}\n`);
  process.exit(1);
});
