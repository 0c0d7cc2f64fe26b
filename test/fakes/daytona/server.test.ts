import { Daytona, DaytonaAuthenticationError, DaytonaNotFoundError, type Sandbox } from "@daytonaio/sdk";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { waitFor } from "../../../workspace/sandbox/provider-suite";
import { reservePort } from "../../support/ports";
import { silentLogger as quiet, startFakeDaytona, type FakeDaytona } from "./server";
import { STDERR_MARKER, STDOUT_MARKER } from "./sessions";

const BROWSER = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0 Safari/537.36";

/** A dev server in the sandbox on `port`, answering "app <path>" (and its output marked in the logs). */
async function serveApp(sandbox: Sandbox, port: number): Promise<string> {
  const session = `app-${port}-${Math.random().toString(36).slice(2, 6)}`;
  await sandbox.process.createSession(session);
  const script = `require("http").createServer((q, s) => s.end("app " + q.url)).listen(${port}, () => console.log("up"))`;
  const { cmdId } = await sandbox.process.executeSessionCommand(session, { command: `exec node -e ${JSON.stringify(script)}`, runAsync: true });
  await waitFor("the app to listen", async () => (await sandbox.process.getSessionCommandLogs(session, cmdId as string)).stdout?.includes("up"));
  return session;
}

describe("fake Daytona API, driven by the real SDK", () => {
  let fake: FakeDaytona;
  let daytona: Daytona;
  let sandbox: Sandbox;
  let port: number;
  let home: string;

  beforeAll(async () => {
    port = await reservePort();
    fake = await startFakeDaytona({ previewPorts: [port, port], log: quiet });
    daytona = new Daytona({ apiKey: fake.apiKey, apiUrl: fake.apiUrl, useDeprecatedPolling: true });
    sandbox = await daytona.create({ language: "typescript", labels: { app: "x" }, autoStopInterval: 30, envVars: { FOO: "bar" } });
    home = (await sandbox.getUserHomeDir()) as string;
  });
  afterAll(async () => {
    await daytona[Symbol.asyncDispose]();
    await fake.close();
  });

  it("creates as creating, then started after a poll, with the create parameters kept", () => {
    expect(sandbox.state).toBe("started");
    const traffic = fake.requests.slice(0, 2).map((request) => `${request.method} ${request.path} ${request.status}`);
    expect(traffic).toEqual(["POST /api/sandbox 200", `GET /api/sandbox/${sandbox.id} 200`]);
    expect(fake.requests[0]!.body).toMatchObject({ labels: { app: "x", "code-toolbox-language": "typescript" }, autoStopInterval: 30, env: { FOO: "bar" } });
    expect(sandbox.toolboxProxyUrl).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/toolbox$/);
  });

  it("refuses requests without the API key", async () => {
    const stranger = new Daytona({ apiKey: "dtn_not_the_key", apiUrl: fake.apiUrl, useDeprecatedPolling: true });
    await expect(stranger.get(sandbox.id)).rejects.toBeInstanceOf(DaytonaAuthenticationError);
    await stranger[Symbol.asyncDispose]();
  });

  it("runs as the image's user: /home/daytona in Daytona's snapshot, root's home in node:* images", async () => {
    expect(home).toMatch(/\/home\/daytona$/);
    expect((await sandbox.process.executeCommand('printf %s "$HOME"')).result).toBe(home);
    const node = await daytona.create({ snapshot: "node:22-bookworm", labels: { app: "root" } });
    const rootHome = (await node.getUserHomeDir()) as string;
    expect(rootHome).toMatch(/\/root$/);
    expect(rootHome).not.toBe(home);
    expect(fake.sandbox(node.id)).toMatchObject({ image: { user: "root", gnu: true } });
    const withResources = await fetch(`${fake.apiUrl}/sandbox`, {
      method: "POST",
      headers: { authorization: `Bearer ${fake.apiKey}`, "content-type": "application/json" },
      body: JSON.stringify({ snapshot: "node:22", cpu: 2 }),
    });
    expect(await withResources.json()).toMatchObject({ statusCode: 400, message: "Cannot specify Sandbox resources when using a snapshot" });
    await node.delete();
  });

  it("has busybox's tools, not GNU's, in Alpine images", async () => {
    const alpine = await daytona.create({ snapshot: "node:22-alpine", labels: { app: "alpine" } });
    const found = await alpine.process.executeCommand("find . -maxdepth 0 -printf '%y'");
    expect(found).toMatchObject({ exitCode: 1, result: expect.stringContaining("unrecognized option: -printf") });
    expect((await alpine.process.executeCommand("find . -maxdepth 0")).exitCode).toBe(0);
    expect((await sandbox.process.executeCommand("find . -maxdepth 0 -printf '%y'")).result).toBe("d");
    await alpine.delete();
  });

  it("serves files: folders, bulk upload, listing, bulk download with per-file errors", async () => {
    await sandbox.fs.createFolder("app/src", "755");
    await sandbox.fs.uploadFiles([
      { source: Buffer.from("export {}\n"), destination: `${home}/app/src/index.ts` },
      { source: Buffer.from([0, 1, 2, 255]), destination: "app/bin.dat" },
    ]);
    const listed = await sandbox.fs.listFiles("app");
    expect(listed.map((file) => [file.name, file.isDir]).sort()).toEqual([["bin.dat", false], ["src", true]]);
    const [found, missing, directory] = await sandbox.fs.downloadFiles([{ source: "app/bin.dat" }, { source: "app/missing.ts" }, { source: "app/src" }]);
    expect(found!.result).toEqual(Buffer.from([0, 1, 2, 255]));
    expect(missing).toMatchObject({ error: expect.stringContaining("file not found"), errorDetails: { statusCode: 404, code: "FILE_NOT_FOUND" } });
    expect(directory).toMatchObject({ errorDetails: { statusCode: 400, code: "INVALID_FILE_PATH" } });
    expect(await sandbox.fs.downloadFile(`${home}/app/src/index.ts`)).toEqual(Buffer.from("export {}\n"));
    await expect(sandbox.fs.uploadFiles([{ source: Buffer.from("x"), destination: "/etc/kiln-escape" }])).rejects.toMatchObject({ statusCode: 400 });
  });

  it("names non-ASCII paths in downloads as filename*=utf-8'' (and the SDK still finds them)", async () => {
    const path = `${home}/app/café ünï 🙂.txt`;
    await sandbox.fs.uploadFiles([{ source: Buffer.from("crème"), destination: path }]);
    expect(await sandbox.fs.downloadFile(path)).toEqual(Buffer.from("crème"));
    const raw = await fetch(`${sandbox.toolboxProxyUrl}/${sandbox.id}/files/bulk-download`, {
      method: "POST",
      headers: { authorization: `Bearer ${fake.apiKey}`, "content-type": "application/json" },
      body: JSON.stringify({ paths: [path] }),
    });
    const head = (await raw.text()).split("\r\n").find((line) => line.startsWith("Content-Disposition"));
    expect(head).toBe(`Content-Disposition: form-data; name="file"; filename*=utf-8''${encodeURIComponent(path)}`);
  });

  it("writes every file of an upload it can and reports the others (not atomic)", async () => {
    const upload = sandbox.fs.uploadFiles([
      { source: Buffer.from("kept"), destination: "app/partial/one.txt" },
      { source: Buffer.from("refused"), destination: "app/bin.dat/below.txt" },
      { source: Buffer.from("kept too"), destination: "app/partial/two.txt" },
    ]);
    await expect(upload).rejects.toMatchObject({ statusCode: 400, message: expect.stringContaining("app/bin.dat/below.txt") });
    expect((await sandbox.fs.downloadFile("app/partial/two.txt")).toString()).toBe("kept too");
  });

  it("executes commands with cwd, env and a timeout in seconds (408 past it, the output lost); a missing cwd is exitCode -1", async () => {
    expect(await sandbox.process.executeCommand('pwd; printf "%s" "$GREETING"; exit 3', `${home}/app`, { GREETING: "hi" })).toMatchObject({
      exitCode: 3,
      result: `${home}/app\nhi`,
    });
    await expect(sandbox.process.executeCommand("echo lost; sleep 5", undefined, undefined, 1)).rejects.toMatchObject({ statusCode: 408, code: "PROCESS_EXECUTION_TIMEOUT" });
    expect(await sandbox.process.executeCommand("echo never", `${home}/no/such/dir`)).toMatchObject({ exitCode: -1, result: "" });
    await expect(sandbox.process.executeCommand("true", undefined, { "BAD-NAME": "x" })).rejects.toMatchObject({ statusCode: 400 });
  });

  it("runs session commands, sync and async, with every line of output marked by its stream", async () => {
    await sandbox.process.createSession("dev");
    const sync = await sandbox.process.executeSessionCommand("dev", { command: "echo hi; echo oops >&2" });
    expect(sync).toMatchObject({ exitCode: 0, stdout: "hi\n", stderr: "oops\n" });
    expect(sync.output?.split("\n").sort()).toEqual(["", `${STDOUT_MARKER}hi`, `${STDERR_MARKER}oops`]);
    const started = await sandbox.process.executeSessionCommand("dev", { command: "echo async; echo two; sleep 30", runAsync: true });
    const cmdId = started.cmdId as string;
    const logs = await waitFor("two lines", async () => {
      const current = await sandbox.process.getSessionCommandLogs("dev", cmdId);
      return current.stdout === "async\ntwo\n" && current;
    });
    expect(logs.output).toBe(`${STDOUT_MARKER}async\n${STDOUT_MARKER}two\n`);
    expect((await sandbox.process.getSessionCommand("dev", cmdId)).exitCode).toBeUndefined();
    expect((await sandbox.process.getSession("dev")).commands?.map((command) => command.id)).toEqual([sync.cmdId, cmdId]);
    await sandbox.process.deleteSession("dev");
    await expect(sandbox.process.getSession("dev")).rejects.toBeInstanceOf(DaytonaNotFoundError);
  });

  it("proxies the standard preview link only with its token, and answers with its own pages otherwise", async () => {
    const app = await serveApp(sandbox, port);
    const link = await sandbox.getPreviewLink(port);
    const withToken = await fetch(`${link.url}/hello`, { headers: { "x-daytona-preview-token": link.token } });
    expect(await withToken.text()).toBe("app /hello");
    const without = await fetch(link.url);
    expect(without.status).toBe(401);
    expect(await without.json()).toMatchObject({ statusCode: 401, source: "DAYTONA_PROXY" });
    expect((await fetch(link.url, { headers: { "x-daytona-preview-token": "stale" } })).status).toBe(401);
    await sandbox.process.deleteSession(app);
    const nothing = await waitFor("nothing on the port", async () => {
      const answer = await fetch(link.url, { headers: { "x-daytona-preview-token": link.token } });
      return answer.status === 502 && answer;
    });
    expect(await nothing.json()).toMatchObject({ code: "RUNNER_UNREACHABLE", source: "DAYTONA_PROXY" });
  });

  it("signs preview URLs for browsers: port-bound, no header needed, expiring and revocable", async () => {
    const app = await serveApp(sandbox, port);
    await expect(sandbox.getSignedPreviewUrl(port, 0)).rejects.toMatchObject({ statusCode: 400 });
    const signed = await sandbox.getSignedPreviewUrl(port, 60);
    expect(signed).toMatchObject({ sandboxId: sandbox.id, port, token: expect.any(String) });
    expect(signed.url).not.toContain((await sandbox.getPreviewLink(port)).token);
    expect(await (await fetch(`${signed.url}/x`)).text()).toBe("app /x");
    const warned = await fetch(signed.url, { headers: { "user-agent": BROWSER } });
    expect(await warned.text()).toContain("<title>Daytona Preview - Warning</title>");
    expect(await (await fetch(signed.url, { headers: { "user-agent": BROWSER, "x-daytona-skip-preview-warning": "true" } })).text()).toBe("app /");
    const accepted = await fetch(`${signed.url}/accept-daytona-preview-warning?redirect=${encodeURIComponent(`${signed.url}/y`)}`, { method: "POST", redirect: "manual" });
    const cookie = accepted.headers.get("set-cookie")!.split(";")[0]!;
    expect(await (await fetch(`${signed.url}/y`, { headers: { "user-agent": BROWSER, cookie } })).text()).toBe("app /y");
    const short = await sandbox.getSignedPreviewUrl(port, 1);
    expect((await fetch(short.url)).status).toBe(200);
    await waitFor("the short URL to expire", async () => (await fetch(short.url)).status === 401, 5000);
    await sandbox.expireSignedPreviewUrl(port, signed.token);
    expect(await (await fetch(signed.url)).json()).toMatchObject({ statusCode: 401, source: "DAYTONA_PROXY" });
    await sandbox.process.deleteSession(app);
  });

  it("gives a new standard token at every start; signed URLs survive it; a stopped sandbox's proxy answers 400", async () => {
    const link = await sandbox.getPreviewLink(port);
    const signed = await sandbox.getSignedPreviewUrl(port, 600);
    await sandbox.stop();
    await expect(sandbox.fs.listFiles("app")).rejects.toMatchObject({ statusCode: 400 });
    expect(await (await fetch(signed.url)).json()).toMatchObject({ statusCode: 400, code: "SANDBOX_NOT_STARTED" });
    await sandbox.start();
    expect(fake.checkPreviewToken(sandbox.id, link.token)).toBe(false);
    expect(fake.standardTokens()).toContain(link.token);
    expect((await fetch(link.url, { headers: { "x-daytona-preview-token": link.token } })).status).toBe(401);
    const app = await serveApp(sandbox, port);
    expect((await fetch(signed.url)).status).toBe(200);
    await sandbox.process.deleteSession(app);
  });

  it("answers 409 to a state change while another is in progress, and shows auto-stop as desiredState stopped", async () => {
    await fake.faults.beginAutoStop(sandbox.id);
    await sandbox.refreshData();
    expect(sandbox).toMatchObject({ state: "started", desiredState: "stopped" });
    await expect(sandbox.start()).rejects.toMatchObject({ statusCode: 409 });
    await sandbox.waitUntilStopped(10);
    fake.faults.conflictNext(1);
    await expect(daytona.start(sandbox)).rejects.toMatchObject({ statusCode: 409 });
    await sandbox.start();
    expect(sandbox.state).toBe("started");
  });

  it("restores an archived sandbox slowly: start answers at once with restoring, which lasts for a while", async () => {
    await fake.faults.archiveBehindBack(sandbox.id);
    const answer = await fetch(`${fake.apiUrl}/sandbox/${sandbox.id}/start`, { method: "POST", headers: { authorization: `Bearer ${fake.apiKey}` } });
    expect(await answer.json()).toMatchObject({ state: "restoring", desiredState: "started" });
    const before = fake.requests.length;
    await sandbox.refreshData();
    await sandbox.waitUntilStarted(10);
    const polls = fake.requests.slice(before).filter((request) => request.method === "GET" && request.path === `/api/sandbox/${sandbox.id}`);
    expect(polls.length).toBeGreaterThan(fake.realism.restorePolls);
  });

  it("fails a create whose sandbox errors with 400 'Sandbox failed to start', the sandbox left in error; quotas answer 400 with Daytona's words", async () => {
    fake.faults.failNextCreate("no runner available");
    await expect(daytona.create({ labels: { app: "doomed" } })).rejects.toMatchObject({ statusCode: 400, message: "Sandbox failed to start: no runner available" });
    const left = [];
    for await (const item of daytona.list({ labels: { app: "doomed" } })) left.push(item);
    expect(left).toMatchObject([{ state: "error", errorReason: "no runner available" }]);
    fake.faults.exceedQuotaOnNextCreate("Total CPU limit exceeded. Maximum allowed: 4");
    await expect(daytona.create({ labels: { app: "quota" } })).rejects.toMatchObject({ statusCode: 400, message: expect.stringContaining("Total CPU limit exceeded") });
  });

  it("deletes softly: destroying, then 404; a second delete answers 409; the list shows it started for a while", async () => {
    const second = await daytona.create({ labels: { app: "x" } });
    const ids: string[] = [];
    for await (const item of daytona.list({ labels: { app: "x" }, limit: 1 })) ids.push(item.id);
    expect(ids).toEqual([sandbox.id, second.id]);
    expect(fake.requests.filter((request) => request.path === "/api/sandbox" && request.query.cursor === "1")).toHaveLength(1);
    await daytona.delete(second);
    expect((await daytona.get(second.id)).state).toBe("destroying");
    await expect(second.delete()).rejects.toMatchObject({ statusCode: 409 });
    const listed = async () => {
      const items = [];
      for await (const item of daytona.list({ labels: { app: "x" } })) items.push(item);
      return items.find((item) => item.id === second.id)?.state;
    };
    expect(await listed()).toBe("started");
    await waitFor("get to answer 404", () => daytona.get(second.id).then(() => false, (err) => err instanceof DaytonaNotFoundError));
    expect(await listed()).toBe("started");
    expect(await listed()).toBeUndefined();
  });

  it("auto-stops an idle sandbox unless its activity is refreshed (preview and toolbox requests count, a running server does not)", async () => {
    const idle = await startFakeDaytona({ previewPorts: [port, port], log: quiet, realism: { autoStopMsPerMinute: 500 } });
    const client = new Daytona({ apiKey: idle.apiKey, apiUrl: idle.apiUrl, useDeprecatedPolling: true });
    try {
      const left = await client.create({ autoStopInterval: 1 });
      const kept = await client.create({ autoStopInterval: 1 });
      const started = Date.now();
      while (Date.now() - started < 1500) {
        await kept.refreshActivity();
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
      expect(idle.sandbox(left.id)?.desiredState).toBe("stopped");
      expect(idle.sandbox(kept.id)).toMatchObject({ state: "started", desiredState: "started" });
      await waitFor("the idle one to stop", async () => idle.sandbox(left.id)?.state === "stopped");
    } finally {
      await client[Symbol.asyncDispose]();
      await idle.close();
    }
  });
});
