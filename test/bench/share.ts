/**
 * First byte through the share gateway against the direct preview: the same page of a small app in a
 * local workspace, asked 50 times each after a warm-up, one request at a time.
 */
import http from "node:http";
import type { AuthData } from "../../lib/routes";
import type { ProjectsApi } from "../../projects/contract";
import type { WorkspaceApi } from "../../workspace/contract";
import { runningWorkspace } from "../support/kiln";
import { shareTestApp } from "../support/share-app";
import { fmt, percentile, type BenchRow } from "./measure";

/** Milliseconds until the response's status line and headers arrive (`headers` such as the Host and Cookie of a link's own host). */
function firstByte(url: string, headers: Record<string, string> = {}): Promise<number> {
  const started = performance.now();
  return new Promise((resolve, reject) => {
    http
      .get(url, { headers }, (res) => {
        const ms = performance.now() - started;
        if (res.statusCode !== 200) reject(new Error(`${url} answered ${res.statusCode}`));
        res.resume();
        res.on("end", () => resolve(ms));
      })
      .on("error", reject);
  });
}

async function samples(url: string, n: number, headers: Record<string, string> = {}): Promise<number[]> {
  for (let i = 0; i < 5; i++) await firstByte(url, headers);
  const out: number[] = [];
  for (let i = 0; i < n; i++) out.push(await firstByte(url, headers));
  return out;
}

/**
 * With the share listener (`shareUrl`, the server's KILN_SHARE_PORT), also the same page on the link's
 * own host: asked of the listener with that host's name and the cookie its entry sets, as a browser
 * resolving `*.localhost` would.
 */
export async function benchShare(options: { kilnUrl: string; shareUrl?: string | null; workspace: WorkspaceApi; projects: ProjectsApi; auth: AuthData }): Promise<BenchRow[]> {
  const { workspace, projects, auth } = options;
  const projectId = (await projects.create({ name: "bench share", template: "blank" }, auth)).id;
  const ws = await runningWorkspace(workspace, projectId);
  await workspace.writeFiles({ id: ws.id, files: [{ path: "app.mjs", contentBase64: Buffer.from(shareTestApp("Bench")).toString("base64") }] });
  const dev = await workspace.ensureDevServer({ id: ws.id, command: "node app.mjs" });
  if (!dev.ok || !dev.previewUrl) throw new Error(`the share bench app did not start: ${dev.problem}`);
  await projects.recordActivity({ id: projectId, workspaceId: ws.id, previewUrl: dev.previewUrl });
  const { path, token, url } = await projects.createShareLink({ id: projectId }, auth);
  const direct = await samples(dev.previewUrl, 50);
  const gateway = await samples(`${options.kilnUrl}${path}`, 50);
  const [d, g] = [percentile(direct, 50), percentile(gateway, 50)];
  const rows: BenchRow[] = [
    {
      benchmark: "share gateway: first byte of a page",
      measure: "through /s/<token>/ vs the direct preview, median of 50",
      value: `${fmt(g)} vs ${fmt(d)}`,
      note: `p95 ${fmt(percentile(gateway, 95))} vs ${fmt(percentile(direct, 95))}; each gateway request looks the link up in Postgres, and an HTML page is read whole to be rewritten`,
    },
  ];
  if (options.shareUrl && url) {
    const headers = { host: new URL(url).host, cookie: `kiln_share=${token}` };
    const own = await samples(`${options.shareUrl}/`, 50, headers);
    rows.push({
      benchmark: "share gateway: first byte of a page",
      measure: "on the link's own host (share listener) vs the direct preview, median of 50",
      value: `${fmt(percentile(own, 50))} vs ${fmt(d)}`,
      note: `p95 ${fmt(percentile(own, 95))}; the same lookup per request, the page streamed as it comes (nothing rewritten)`,
    });
  }
  return rows;
}
