import { Daytona, DaytonaAuthenticationError, DaytonaNotFoundError, type Sandbox } from "@daytonaio/sdk";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { freePort } from "../../../workspace/sandbox/provider-suite";
import { silentLogger as quiet, startFakeDaytona, type FakeDaytona } from "./server";

describe("fake Daytona API, driven by the real SDK", () => {
  let fake: FakeDaytona;
  let daytona: Daytona;
  let sandbox: Sandbox;
  let port: number;

  beforeAll(async () => {
    port = await freePort();
    fake = await startFakeDaytona({ previewPorts: [port, port], log: quiet });
    daytona = new Daytona({ apiKey: fake.apiKey, apiUrl: fake.apiUrl, useDeprecatedPolling: true });
    sandbox = await daytona.create({ language: "typescript", labels: { app: "x" }, autoStopInterval: 30, envVars: { FOO: "bar" } });
  });
  afterAll(async () => {
    await daytona[Symbol.asyncDispose]();
    await fake.close();
  });

  it("creates as creating, then started after a poll, with the create parameters kept", () => {
    expect(sandbox.state).toBe("started");
    const traffic = fake.requests.slice(0, 2).map((request) => `${request.method} ${request.path} ${request.status}`);
    expect(traffic).toEqual(["POST /api/sandbox 200", `GET /api/sandbox/${sandbox.id} 200`]);
    expect(fake.requests[0].body).toMatchObject({ labels: { app: "x", "code-toolbox-language": "typescript" }, autoStopInterval: 30, env: { FOO: "bar" } });
    expect(sandbox.toolboxProxyUrl).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/toolbox$/);
  });

  it("refuses requests without the API key", async () => {
    const stranger = new Daytona({ apiKey: "dtn_not_the_key", apiUrl: fake.apiUrl, useDeprecatedPolling: true });
    await expect(stranger.get(sandbox.id)).rejects.toBeInstanceOf(DaytonaAuthenticationError);
    await stranger[Symbol.asyncDispose]();
  });

  it("serves files: folders, bulk upload, listing, bulk download with per-file errors", async () => {
    await sandbox.fs.createFolder("app/src", "755");
    await sandbox.fs.uploadFiles([
      { source: Buffer.from("export {}\n"), destination: "/home/daytona/app/src/index.ts" },
      { source: Buffer.from([0, 1, 2, 255]), destination: "app/bin.dat" },
    ]);
    const listed = await sandbox.fs.listFiles("app");
    expect(listed.map((file) => [file.name, file.isDir]).sort()).toEqual([["bin.dat", false], ["src", true]]);
    const [found, missing] = await sandbox.fs.downloadFiles([{ source: "app/bin.dat" }, { source: "app/missing.ts" }]);
    expect(found.result).toEqual(Buffer.from([0, 1, 2, 255]));
    expect(missing).toMatchObject({ error: expect.stringContaining("file not found"), errorDetails: { statusCode: 404, code: "FILE_NOT_FOUND" } });
    expect(await sandbox.fs.downloadFile("/home/daytona/app/src/index.ts")).toEqual(Buffer.from("export {}\n"));
  });

  it("executes commands with cwd, env and a timeout in seconds (408 past it)", async () => {
    expect(await sandbox.process.executeCommand('pwd; printf "%s" "$GREETING"; exit 3', "/home/daytona/app", { GREETING: "hi" })).toMatchObject({
      exitCode: 3,
      result: expect.stringMatching(/\/app\nhi$/),
    });
    await expect(sandbox.process.executeCommand("sleep 5", undefined, undefined, 1)).rejects.toMatchObject({ statusCode: 408, code: "PROCESS_EXECUTION_TIMEOUT" });
  });

  it("runs session commands, sync and async, with JSON logs", async () => {
    await sandbox.process.createSession("dev");
    const sync = await sandbox.process.executeSessionCommand("dev", { command: "echo hi" });
    expect(sync).toMatchObject({ exitCode: 0, output: "hi\n" });
    const started = await sandbox.process.executeSessionCommand("dev", { command: "echo async; sleep 30", runAsync: true });
    expect(started.cmdId).toBeTruthy();
    const cmdId = started.cmdId as string;
    for (let tries = 0; tries < 100 && !(await sandbox.process.getSessionCommandLogs("dev", cmdId)).output?.includes("async"); tries++) {
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    expect((await sandbox.process.getSessionCommandLogs("dev", cmdId)).output).toBe("async\n");
    expect((await sandbox.process.getSessionCommand("dev", cmdId)).exitCode).toBeUndefined();
    expect((await sandbox.process.getSession("dev")).commands?.map((command) => command.id)).toEqual([sync.cmdId, cmdId]);
    await sandbox.process.deleteSession("dev");
    await expect(sandbox.process.getSession("dev")).rejects.toBeInstanceOf(DaytonaNotFoundError);
  });

  it("gives preview links with a token that changes when the sandbox restarts", async () => {
    const link = await sandbox.getPreviewLink(port);
    expect(link.url).toBe(`http://127.0.0.1:${port}`);
    expect(fake.checkPreviewToken(sandbox.id, link.token)).toBe(true);
    await sandbox.stop();
    await expect(sandbox.fs.listFiles("app")).rejects.toMatchObject({ statusCode: 400 });
    await sandbox.start();
    expect(fake.checkPreviewToken(sandbox.id, link.token)).toBe(false);
  });

  it("lists by labels across pages and forgets a deleted sandbox", async () => {
    const second = await daytona.create({ labels: { app: "x" } });
    const ids: string[] = [];
    for await (const item of daytona.list({ labels: { app: "x" }, limit: 1 })) ids.push(item.id);
    expect(ids).toEqual([sandbox.id, second.id]);
    expect(fake.requests.filter((request) => request.path === "/api/sandbox" && request.query.cursor === "1")).toHaveLength(1);
    await daytona.delete(second);
    await expect(daytona.get(second.id)).rejects.toBeInstanceOf(DaytonaNotFoundError);
  });
});
