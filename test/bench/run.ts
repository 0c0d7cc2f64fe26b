/**
 * `npm run bench`: every benchmark, side by side in one run, printed as the README's table (and
 * written to test/bench/results.md). Uses the fakes for MongoDB and the model, local sandboxes (template
 * installs need the npm registry), and
 * DATABASE_URL when set (else embedded PGlite). `BENCH_LOAD=1,5,20,50` also runs the load curve, each N
 * kept busy for `BENCH_LOAD_SECONDS` (default 60).
 */
import { writeFile } from "node:fs/promises";
import type { VfsApi } from "../../vfs/contract";
import type { WorkspaceApi } from "../../workspace/contract";
import { startFakeAnthropic } from "../fakes/anthropic/server";
import { helloAppSession } from "../fakes/anthropic/sessions/hello-app";
import { startTestKiln } from "../support/kiln";
import { startTestMongo } from "../support/mongo";
import { benchBoundary } from "./boundary";
import { benchChecks } from "./checks";
import { benchGenerations, loadRound } from "./generations";
import { benchPromptCache } from "./prompt-cache";
import { benchShare } from "./share";
import { chromiumPssMb, fmt, type BenchRow } from "./measure";
import { benchTemplates } from "./templates";
import { benchBackup } from "./vfs-backup";
import { benchRestore } from "./versions";
import { benchWorkspace } from "./workspace";

async function main(): Promise<void> {
  const mongo = await startTestMongo();
  const model = await startFakeAnthropic({ script: helloAppSession });
  const kiln = await startTestKiln({
    MONGODB_URI: mongo.uri,
    KILN_MONGODB_DATABASE: mongo.databaseName,
    ANTHROPIC_BASE_URL: model.baseURL,
    ANTHROPIC_API_KEY: "sk-bench",
    KILN_RUNNER_CONCURRENCY: "64",
    KILN_WORKSPACE_POLL_MS: "20",
    KILN_PREVIEW_PORTS: "30000-30299",
    LOG_LEVEL: "warn",
  });
  const rows: BenchRow[] = [];
  try {
    const { token, userID } = await kiln.createUser("bench");
    const impl = <T>(name: string) => kiln.kiln.services.find((s) => s.name === name)!.impl as T;
    const workspace = impl<WorkspaceApi>("workspace");
    const vfs = impl<VfsApi>("vfs");
    const projects = impl<import("../../projects/contract").ProjectsApi>("projects");
    const waitRunning = async (id: string) => {
      while ((await workspace.get({ id })).status !== "running") await new Promise((resolve) => setTimeout(resolve, 10));
    };

    rows.push(...(await benchBoundary()));
    rows.push(...(await benchPromptCache()));

    const ws = await workspace.create({ projectId: "bench-workspace" });
    await waitRunning(ws.id);
    rows.push(...(await benchWorkspace(workspace, ws.id)));

    const project = await projects.create({ name: "bench backup" }, { userID });
    const backupWs = await workspace.create({ projectId: project.id });
    await waitRunning(backupWs.id);
    rows.push(...(await benchBackup({ workspace, vfs, db: mongo.db, projectId: project.id, workspaceId: backupWs.id, auth: { userID } })));
    rows.push(...(await benchRestore({ workspace, vfs, projects, projectId: project.id, workspaceId: backupWs.id, auth: { userID } })));
    rows.push(...(await benchShare({ kilnUrl: kiln.url, workspace, projects, auth: { userID } })));

    rows.push(...(await benchGenerations(kiln, token)));
    rows.push(...(await benchTemplates(workspace)));
    rows.push(...(await benchChecks(workspace)));

    const curve = (process.env.BENCH_LOAD ?? "").split(",").filter(Boolean).map(Number);
    const loadMs = Number(process.env.BENCH_LOAD_SECONDS ?? 60) * 1000;
    for (const n of curve) {
      const r = await loadRound(kiln, token, n, 2, loadMs);
      rows.push({
        benchmark: `load N=${n} for ${Math.round(r.seconds)} s (2 SSE watchers per job)`,
        measure: `${r.completed}/${r.jobs} completed, ${r.errors} errors, ${r.perMinute.toFixed(0)} jobs/min`,
        value: `API p50/p95/p99 ${fmt(r.api.p50)} / ${fmt(r.api.p95)} / ${fmt(r.api.p99)}`,
        note: `SSE p50/p95/p99 ${fmt(r.sse.p50)} / ${fmt(r.sse.p95)} / ${fmt(r.sse.p99)}; peak RSS ${r.peakRssMb} MB; the check browser ${chromiumPssMb()} MB (PSS) after the round`,
      });
    }
  } finally {
    await kiln.close();
    await model.close();
    await mongo.close();
  }
  const database = process.env.DATABASE_URL ? "PostgreSQL server" : "embedded PGlite";
  const table = [
    `Measured ${new Date().toISOString().slice(0, 10)} on this machine (2 cores), ${database}, MongoDB stand-in, local sandboxes.`,
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
