/**
 * Backing a 300-file / 3 MB project up from a workspace into the vfs: full, unchanged, and with 5 files
 * changed, side by side with the earlier design's naive sync (list, then for each file one sandbox read
 * and one GridFS upload, sequentially). On the local provider, and on the Daytona provider through the
 * fake with a network between them (`BENCH_DAYTONA_RTT_MS`, default 20 ms per request, and
 * `BENCH_DAYTONA_MBPS`, default 100 Mbit/s shared): there the difference is round trips, which are
 * counted.
 */
import { GridFSBucket, type Db } from "mongodb";
import type { AuthData } from "../../lib/routes";
import type { ProjectsApi } from "../../projects/contract";
import type { VfsApi } from "../../vfs/contract";
import type { WorkspaceApi } from "../../workspace/contract";
import { startFakeDaytona } from "../fakes/daytona/server";
import { reservePort } from "../support/ports";
import { runningWorkspace, startTestKiln } from "../support/kiln";
import type { TestMongo } from "../support/mongo";
import { fmt, projectFiles, time, type BenchRow } from "./measure";

async function naiveSync(workspace: WorkspaceApi, workspaceId: string, db: Db, projectId: string): Promise<void> {
  const bucket = new GridFSBucket(db, { bucketName: "naive" });
  const listing = await workspace.listFiles({ id: workspaceId, path: "", recursive: true });
  for (const file of listing.files.filter((f) => !f.isDir)) {
    const [read] = (await workspace.readFiles({ id: workspaceId, paths: [file.path] })).files;
    await new Promise<void>((resolve, reject) => {
      const upload = bucket.openUploadStream(`${projectId}/${file.path}`);
      upload.once("finish", () => resolve());
      upload.once("error", reject);
      upload.end(Buffer.from(read!.contentBase64!, "base64"));
    });
  }
}

/** What one provider's backup measures. */
interface BackupTarget {
  provider: string;
  workspace: WorkspaceApi;
  vfs: VfsApi;
  db: Db;
  projectId: string;
  workspaceId: string;
  auth: AuthData;
  /** Requests the provider has sent to its sandbox service so far (Daytona), if counted. */
  requests?: () => number;
  /** How the network to the sandboxes was set. */
  network: string;
}

export async function benchBackup(target: BackupTarget): Promise<BenchRow[]> {
  const { workspace, vfs, db, projectId, workspaceId, auth, requests } = target;
  const files = projectFiles(300, 10_000, 7);
  await workspace.writeFiles({ id: workspaceId, files: files.map((f) => ({ path: f.path, contentBase64: f.content.toString("base64") })) });
  const counted = async (work: () => Promise<unknown>) => {
    const before = requests?.() ?? 0;
    const ms = await time(work);
    return { ms, trips: requests ? requests() - before : undefined };
  };
  const trips = (n: number | undefined) => (n === undefined ? "" : `; ${n} round trips to Daytona`);

  const naive = await counted(() => naiveSync(workspace, workspaceId, db, projectId));
  let full = 0;
  const fullRun = await counted(async () => (full = (await vfs.backupWorkspace({ projectId, workspaceId }, auth)).uploadedBlobs));
  let unchangedUploads = -1;
  const unchanged = await counted(async () => (unchangedUploads = (await vfs.backupWorkspace({ projectId, workspaceId }, auth)).uploadedBlobs));
  const changed = files.slice(0, 5).map((f) => ({ path: f.path, contentBase64: Buffer.from(`changed ${f.path}`).toString("base64") }));
  await workspace.writeFiles({ id: workspaceId, files: changed });
  let fiveUploads = -1;
  const five = await counted(async () => (fiveUploads = (await vfs.backupWorkspace({ projectId, workspaceId }, auth)).uploadedBlobs));
  const benchmark = `vfs backup (300 files, 3 MB), ${target.provider}`;
  const ratio = naive.ms / fullRun.ms;
  const tripTarget = requests ? ` (target ≤ 2 round trips${unchanged.trips! <= 2 ? ": met" : ": MISSED"})` : "";
  return [
    { benchmark, measure: "naive sync of the earlier design", value: fmt(naive.ms), note: `list, then per file one sandbox read + one GridFS upload, sequentially${trips(naive.trips)}; ${target.network}` },
    { benchmark, measure: "full incremental backup", value: fmt(fullRun.ms), note: `${ratio.toFixed(1)}× faster than naive${requests ? ` (target ≥ 20×${ratio >= 20 ? ": met" : ": MISSED"})` : ""}; ${full} blobs uploaded${trips(fullRun.trips)}` },
    { benchmark, measure: "re-backup, nothing changed", value: fmt(unchanged.ms), note: `${unchangedUploads} blobs uploaded${trips(unchanged.trips)}${tripTarget}; target < 150 ms${unchanged.ms < 150 ? ": met" : ": MISSED"}` },
    { benchmark, measure: "re-backup, 5 files changed", value: fmt(five.ms), note: `${fiveUploads} blobs uploaded${trips(five.trips)}` },
  ];
}

/**
 * The same on the Daytona provider, through the fake Daytona with a network: a Kiln of its own (the
 * Daytona provider, the given MongoDB), the fake's requests counted as round trips.
 */
export async function benchDaytonaBackup(mongo: TestMongo): Promise<BenchRow[]> {
  const roundTripMs = Number(process.env.BENCH_DAYTONA_RTT_MS ?? 20);
  const mbps = Number(process.env.BENCH_DAYTONA_MBPS ?? 100);
  process.env.DAYTONA_USE_DEPRECATED_POLLING = "true";
  const port = await reservePort();
  const daytona = await startFakeDaytona({ previewPorts: [port, port] });
  const kiln = await startTestKiln({
    MONGODB_URI: mongo.uri,
    KILN_MONGODB_DATABASE: mongo.databaseName,
    KILN_SANDBOX: "daytona",
    DAYTONA_API_KEY: daytona.apiKey,
    DAYTONA_API_URL: daytona.apiUrl,
    KILN_PREVIEW_PORTS: `${port}-${port}`,
    KILN_WORKSPACE_POLL_MS: "20",
    LOG_LEVEL: "warn",
  });
  try {
    const { userID } = await kiln.createUser("bench-daytona");
    const impl = <T>(name: string) => kiln.kiln.services.find((s) => s.name === name)!.impl as T;
    const workspace = impl<WorkspaceApi>("workspace");
    const project = await impl<ProjectsApi>("projects").create({ name: "bench daytona backup" }, { userID });
    const ws = await runningWorkspace(workspace, project.id);
    daytona.network = { roundTripMs, bytesPerSecond: (mbps * 1e6) / 8 };
    return await benchBackup({
      provider: "Daytona",
      workspace,
      vfs: impl<VfsApi>("vfs"),
      db: mongo.db,
      projectId: project.id,
      workspaceId: ws.id,
      auth: { userID },
      requests: () => daytona.requests.length,
      network: `Daytona stand-in ${roundTripMs} ms per request, ${mbps} Mbit/s`,
    });
  } finally {
    daytona.network = { roundTripMs: 0 };
    await kiln.close();
    await daytona.close();
  }
}
