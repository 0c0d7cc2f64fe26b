import { createHash } from "node:crypto";
import { readdir, readFile } from "node:fs/promises";
import { join, relative } from "node:path";
import { Daytona } from "@daytonaio/sdk";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startDaytonaHarness } from "../../test/fakes/daytona/harness";
import { silentLogger as quiet, type FakeDaytona } from "../../test/fakes/daytona/server";
import { createDaytonaProvider } from "./daytona";
import { INLINE_FILE_BYTES } from "./daytona-files";
import { KILN_LABEL, type SandboxInfo, type SandboxProvider } from "./provider";
import { describeProviderSuite, waitFor } from "./provider-suite";

/**
 * Names, kinds and digests of everything below the fake's data directory except what a sandbox may
 * change: the Daytona project directories (`<local id>/project/home/daytona/project`), the provider's
 * bookkeeping (`.kiln` beside them) and the local sandboxes' state files.
 */
async function fingerprint(root: string, dir = root): Promise<string> {
  const lines: string[] = [];
  for (const entry of (await readdir(dir, { withFileTypes: true })).sort((a, b) => a.name.localeCompare(b.name))) {
    const full = join(dir, entry.name);
    const path = relative(root, full);
    if (/^[^/]+\/project\/home\/daytona\/(project|\.kiln)$/.test(path) || entry.name === "sandbox.json") continue;
    if (entry.isDirectory()) lines.push(`${path}/`, await fingerprint(root, full));
    else lines.push(`${path} ${entry.isFile() ? createHash("sha256").update(await readFile(full)).digest("hex") : "other"}`);
  }
  return lines.join("\n");
}

describeProviderSuite("daytona (fake, as real Daytona behaves)", async () => {
  const { provider, devPort, cleanup, root } = await startDaytonaHarness();
  return { provider, devPort, outsideFingerprint: () => fingerprint(root), cleanup };
});

describe("daytona sandbox provider", () => {
  let fake: FakeDaytona;
  let provider: SandboxProvider;
  let cleanup: () => Promise<void>;
  let devPort: number;
  let sandbox: SandboxInfo;

  beforeAll(async () => {
    ({ fake, provider, cleanup, devPort } = await startDaytonaHarness());
    sandbox = await provider.create({ workspaceId: "wsp_day", projectId: "prj_day" });
  });
  afterAll(() => cleanup());

  const requestsTo = (suffix: string, method = "POST") => fake.requests.filter((request) => request.method === method && request.path.endsWith(suffix));

  it("creates with Kiln's labels, auto-stop in minutes, auto-archive and private previews", async () => {
    const [create] = requestsTo("/api/sandbox");
    expect(create.body).toMatchObject({
      labels: { [KILN_LABEL]: "true", "kiln.workspace": "wsp_day", "kiln.project": "prj_day" },
      autoStopInterval: 15,
      autoArchiveInterval: 7 * 24 * 60,
      public: false,
    });
    expect(fake.sandbox(sandbox.id)).toMatchObject({ autoStopInterval: 15, public: false });
    expect(sandbox).toMatchObject({ state: "running" });
  });

  it("uploads N files in one request and reads N small ones back in one command", async () => {
    const uploadsBefore = requestsTo("/files/bulk-upload").length;
    const downloadsBefore = requestsTo("/files/bulk-download").length;
    const commandsBefore = requestsTo("/process/execute").length;
    const files = Array.from({ length: 20 }, (_, index) => ({ path: `batch/f${index}.txt`, content: Buffer.from(`file ${index}`) }));
    await provider.writeFiles(sandbox.id, files);
    const uploads = requestsTo("/files/bulk-upload");
    expect(uploads.length - uploadsBefore).toBe(1);
    expect((uploads.at(-1)?.body as { files: Array<{ path: string }> }).files.map((file) => file.path)).toEqual(
      files.map((file) => `${fake.sandbox(sandbox.id)!.home}/project/${file.path}`),
    );
    expect(await provider.readFiles(sandbox.id, files.map((file) => file.path))).toEqual(files);
    // The size check returns small files itself: no download, one command for the 20.
    expect(requestsTo("/files/bulk-download").length - downloadsBefore).toBe(0);
    expect(requestsTo("/process/execute").length - commandsBefore).toBe(1);
  });

  it("downloads a file larger than the size check returns as a stream of its own, and an empty file as empty", async () => {
    const big = { path: "batch/big.bin", content: Buffer.alloc(INLINE_FILE_BYTES + 1, 7) };
    await provider.writeFiles(sandbox.id, [big, { path: "batch/empty.txt", content: Buffer.alloc(0) }]);
    const downloadsBefore = requestsTo("/files/bulk-download").length;
    expect(await provider.readFiles(sandbox.id, [big.path, "batch/empty.txt"])).toEqual([big, { path: "batch/empty.txt", content: Buffer.alloc(0) }]);
    // One request per large file, so each can be cut off past the size limit (the bulk download buffers files whole).
    expect(requestsTo("/files/bulk-download").length - downloadsBefore).toBe(1);
    await provider.deletePaths(sandbox.id, [big.path, "batch/empty.txt"]);
  });

  it("lists with hashes in one command", async () => {
    const before = requestsTo("/process/execute").length;
    const listed = await provider.listFiles(sandbox.id, { path: "batch", recursive: true, hashes: true });
    expect(listed).toHaveLength(20);
    expect(listed.every((entry) => entry.sha256?.length === 64)).toBe(true);
    expect(requestsTo("/process/execute").length - before).toBe(1);
  });

  it("reports a command past its timeout as timed out, keeping its output", async () => {
    const result = await provider.exec(sandbox.id, { command: "echo before; sleep 30", timeoutMs: 500, maxOutputBytes: 4096 });
    expect(result).toMatchObject({ exitCode: null, timedOut: true, stdout: "before\n" });
    expect(result.durationMs).toBeLessThan(10_000);
  });

  it("reports Daytona's own execute timeout (408) as timed out", async () => {
    fake.faults.timeoutNextExecute();
    const result = await provider.exec(sandbox.id, { command: "echo lost", timeoutMs: 5000, maxOutputBytes: 1024 });
    expect(result).toMatchObject({ exitCode: null, timedOut: true, cancelled: false });
    expect(result.output).toContain("Daytona ended the command");
    expect(requestsTo("/process/execute").at(-1)?.status).toBe(408);
  });

  it("starts a sandbox stopped behind its back", async () => {
    await fake.faults.stopBehindBack(sandbox.id);
    expect(await provider.get(sandbox.id)).toMatchObject({ state: "stopped" });
    await expect(provider.readFiles(sandbox.id, ["batch/f1.txt"])).rejects.toMatchObject({ code: "failed_precondition" });
    expect(await provider.start(sandbox.id)).toMatchObject({ state: "running" });
    expect(await provider.readFiles(sandbox.id, ["batch/f1.txt"])).toEqual([{ path: "batch/f1.txt", content: Buffer.from("file 1") }]);
  });

  it("restores an archived sandbox by starting it, with its files (archived is not gone)", async () => {
    await fake.faults.archiveBehindBack(sandbox.id);
    expect(await provider.get(sandbox.id)).toMatchObject({ state: "archived" });
    expect((await provider.list()).find((info) => info.id === sandbox.id)).toMatchObject({ state: "archived" });
    expect(await provider.start(sandbox.id)).toMatchObject({ state: "running" });
    expect(requestsTo(`/api/sandbox/${sandbox.id}/start`).length).toBeGreaterThanOrEqual(2);
    expect(requestsTo(`/api/sandbox/${sandbox.id}`, "DELETE")).toEqual([]);
    expect(await provider.readFiles(sandbox.id, ["batch/f2.txt"])).toEqual([{ path: "batch/f2.txt", content: Buffer.from("file 2") }]);
  });

  it("waits through a slow start", async () => {
    fake.faults.setStartPolls(5);
    try {
      await fake.faults.stopBehindBack(sandbox.id);
      const before = requestsTo(`/api/sandbox/${sandbox.id}`, "GET").length;
      expect(await provider.start(sandbox.id)).toMatchObject({ state: "running" });
      expect(requestsTo(`/api/sandbox/${sandbox.id}`, "GET").length - before).toBeGreaterThanOrEqual(5);
    } finally {
      fake.faults.setStartPolls(1);
    }
  });

  it("gives browsers a signed preview URL that opens the app without any header, never the standard token", async () => {
    await provider.writeFiles(sandbox.id, [{ path: "app.cjs", content: Buffer.from('require("node:http").createServer((q, s) => s.end("signed ok")).listen(Number(process.env.PORT))') }]);
    const { processId } = await provider.startProcess(sandbox.id, { name: "signed", command: "node app.cjs", env: { PORT: String(devPort) } });
    const link = await provider.previewUrl(sandbox.id, devPort);
    expect(link).toEqual({ url: expect.stringMatching(/^http:\/\/127\.0\.0\.1:\d+\/$/), expiresAt: expect.any(String) });
    expect(Date.parse(link.expiresAt!) - Date.now()).toBeGreaterThan(3500 * 1000);
    const page = await waitFor("the app through the signed URL", async () => {
      const answer = await fetch(link.url).catch(() => undefined);
      return answer?.status === 200 ? answer.text() : undefined;
    });
    expect(page).toBe("signed ok");
    for (const token of fake.standardTokens()) expect(JSON.stringify(link)).not.toContain(token);
    expect(requestsTo(`/ports/${devPort}/preview-url`, "GET")).toEqual([]);
    expect(await provider.previewUrl(sandbox.id, devPort)).toEqual(link);
    expect(requestsTo(`/ports/${devPort}/signed-preview-url`, "GET")).toHaveLength(1);
    await provider.stopProcess(sandbox.id, processId);
  });

  it("revokes the signed URLs it handed out when the sandbox is stopped", async () => {
    const link = await provider.previewUrl(sandbox.id, devPort);
    await provider.stop(sandbox.id);
    expect(requestsTo("/expire").length).toBeGreaterThanOrEqual(1);
    await provider.start(sandbox.id);
    expect(await (await fetch(link.url)).json()).toMatchObject({ statusCode: 401, source: "DAYTONA_PROXY" });
    expect((await provider.previewUrl(sandbox.id, devPort)).url).not.toBe(link.url);
  });

  it("surfaces Daytona's reason for a sandbox in error", async () => {
    const broken = await provider.create({ workspaceId: "wsp_broken", projectId: "prj_day" });
    fake.faults.setError(broken.id, "disk quota exceeded on runner r-7");
    expect(await provider.get(broken.id)).toMatchObject({ state: "error", error: "disk quota exceeded on runner r-7" });
    await expect(provider.start(broken.id)).rejects.toMatchObject({ code: "failed_precondition", message: expect.stringContaining("disk quota exceeded") });
    fake.faults.setError(broken.id, "snapshot build failed: npm ERR!", "build_failed");
    expect(await provider.get(broken.id)).toMatchObject({ state: "error", error: "snapshot build failed: npm ERR!" });
  });

  it("fails a create whose sandbox ends in error (Daytona's 400), with Daytona's reason, and deletes what it left", async () => {
    fake.faults.failNextCreate("no runner available in region us");
    await expect(provider.create({ workspaceId: "wsp_nostart", projectId: "prj_day" })).rejects.toMatchObject({
      code: "failed_precondition",
      message: "Daytona: the new sandbox did not start: no runner available in region us",
    });
    const left = requestsTo("/api/sandbox", "POST").at(-1);
    expect(left?.status).toBe(400);
    const doomed = [...fake.requests].reverse().find((request) => request.method === "DELETE");
    expect(doomed?.path).toMatch(/^\/api\/sandbox\/sbx-fake-/);
    expect(fake.sandbox(doomed!.path.split("/").at(-1)!)?.state ?? "gone").toMatch(/destroying|gone/);
  });

  it("answers resource_exhausted with Daytona's words when a quota is reached", async () => {
    fake.faults.exceedQuotaOnNextCreate("Total CPU limit exceeded. Maximum allowed: 4");
    await expect(provider.create({ workspaceId: "wsp_quota", projectId: "prj_day" })).rejects.toMatchObject({
      code: "resource_exhausted",
      message: expect.stringContaining("Total CPU limit exceeded. Maximum allowed: 4"),
    });
  });

  it("gives a clear error when a poll answers 5xx", async () => {
    fake.faults.failNextPoll(502);
    fake.faults.setStartPolls(2);
    try {
      await expect(provider.create({ workspaceId: "wsp_5xx", projectId: "prj_day" })).rejects.toMatchObject({
        code: "unavailable",
        message: expect.stringMatching(/^Daytona: creating a sandbox for workspace wsp_5xx failed: .*502/),
      });
    } finally {
      fake.faults.setStartPolls(1);
    }
  });

  it("reads a vanished sandbox as gone and refuses to act on it", async () => {
    const doomed = await provider.create({ workspaceId: "wsp_vanish", projectId: "prj_day" });
    await provider.writeFiles(doomed.id, [{ path: "a.txt", content: Buffer.from("a") }]);
    await fake.faults.vanish(doomed.id);
    expect(await provider.get(doomed.id)).toEqual({ id: doomed.id, state: "gone", labels: {} });
    await expect(provider.readFiles(doomed.id, ["a.txt"])).rejects.toMatchObject({ code: "not_found" });
    expect((await provider.list()).map((info) => info.id)).not.toContain(doomed.id);
  });

  it("lists Kiln's sandboxes only, across pages", async () => {
    const other = new Daytona({ apiKey: fake.apiKey, apiUrl: fake.apiUrl, useDeprecatedPolling: true });
    const foreign = await other.create({ labels: { team: "not-kiln" } });
    await other[Symbol.asyncDispose]();
    const listed = (await provider.list()).map((info) => info.id);
    expect(listed).toContain(sandbox.id);
    expect(listed).not.toContain(foreign.id);
    const pages = requestsTo("/api/sandbox", "GET").filter((request) => request.query.labels === JSON.stringify({ [KILN_LABEL]: "true" }));
    expect(pages.some((request) => request.query.cursor !== undefined)).toBe(true);
  });

  it("pings the API for health and fails with a clear reason when the key is wrong", async () => {
    expect(await provider.health()).toMatchObject({ status: "ok" });
    const wrong = createDaytonaProvider({ apiKey: "dtn_wrong_key", apiUrl: fake.apiUrl, autoStopMinutes: 15, autoArchiveMinutes: 60, public: false, log: quiet, useDeprecatedPolling: true });
    expect(await wrong.health()).toMatchObject({ status: "fail", detail: expect.stringContaining("DAYTONA_API_KEY") });
    await wrong.close();
  });
});

describe("daytona provider with public previews (KILN_DAYTONA_PUBLIC)", () => {
  it("gives the plain preview link, which needs no token; browsers see Daytona's warning unless the skip header is sent", async () => {
    const { provider, fake, devPort, cleanup } = await startDaytonaHarness({ provider: { public: true } });
    try {
      const sandbox = await provider.create({ workspaceId: "wsp_public", projectId: "prj_public" });
      expect(fake.sandbox(sandbox.id)).toMatchObject({ public: true });
      await provider.writeFiles(sandbox.id, [{ path: "app.cjs", content: Buffer.from('require("node:http").createServer((q, s) => s.end("public ok")).listen(Number(process.env.PORT))') }]);
      await provider.startProcess(sandbox.id, { name: "public", command: "node app.cjs", env: { PORT: String(devPort) } });
      const link = await provider.previewUrl(sandbox.id, devPort);
      expect(link).toEqual({ url: expect.stringMatching(/^http:\/\/127\.0\.0\.1:\d+\/$/) });
      expect(fake.requests.some((request) => request.path.endsWith("/signed-preview-url"))).toBe(false);
      const page = await waitFor("the app", async () => {
        const answer = await fetch(link.url).catch(() => undefined);
        return answer?.status === 200 ? answer.text() : undefined;
      });
      expect(page).toBe("public ok");
      const browser = { "user-agent": "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0 Safari/537.36" };
      expect(await (await fetch(link.url, { headers: browser })).text()).toContain("Daytona Preview - Warning");
      expect(await (await fetch(link.url, { headers: { ...browser, "x-daytona-skip-preview-warning": "true" } })).text()).toBe("public ok");
    } finally {
      await cleanup();
    }
  });
});
