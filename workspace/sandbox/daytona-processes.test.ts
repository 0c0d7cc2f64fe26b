import { Daytona } from "@daytonaio/sdk";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startDaytonaHarness, type DaytonaHarness } from "../../test/fakes/daytona/harness";
import type { SandboxInfo } from "./provider";
import { expectNoSurvivor, processesWith, sleepMarker, waitFor } from "./provider-suite";

/** Files and processes on Daytona as it really is: unbounded downloads, marked logs, sessions that leak, long requests cut. */
describe("daytona provider: files and processes", () => {
  let harness: DaytonaHarness;
  let sandbox: SandboxInfo;
  const requests = (suffix: string) => harness.fake.requests.filter((request) => request.path.endsWith(suffix));

  beforeAll(async () => {
    harness = await startDaytonaHarness({ provider: { maxReadBytes: 1024, asyncExecAfterMs: 3000 } });
    sandbox = await harness.provider.create({ workspaceId: "wsp_proc", projectId: "prj_proc" });
  });
  afterAll(() => harness.cleanup());

  it("checks sizes before downloading: an oversized file is too_large without its bytes ever being sent", async () => {
    const { provider } = harness;
    await provider.writeFiles(sandbox.id, [
      { path: "big.bin", content: Buffer.alloc(5000, 1) },
      { path: "small.txt", content: Buffer.from("small") },
    ]);
    const before = requests("/files/bulk-download").length;
    expect(await provider.readFiles(sandbox.id, ["big.bin", "small.txt"])).toEqual([
      { path: "big.bin", error: "too_large" },
      { path: "small.txt", content: Buffer.from("small") },
    ]);
    // small.txt came back with the size check; big.bin was never downloaded.
    expect(requests("/files/bulk-download").slice(before)).toEqual([]);
  });

  it("never downloads a FIFO (the download would not end) and reads non-ASCII names (filename*=utf-8'')", async () => {
    const { provider } = harness;
    expect((await provider.exec(sandbox.id, { command: "mkfifo pipe", timeoutMs: 5000, maxOutputBytes: 1024 })).exitCode).toBe(0);
    await provider.writeFiles(sandbox.id, [{ path: "café/ünï 🙂.txt", content: Buffer.from("crème") }]);
    expect(await provider.readFiles(sandbox.id, ["pipe", "café/ünï 🙂.txt"])).toEqual([
      { path: "pipe", error: "not_found" },
      { path: "café/ünï 🙂.txt", content: Buffer.from("crème") },
    ]);
  });

  it("strips the daemon's stream markers before a log tail is cut", async () => {
    const { provider } = harness;
    const { processId } = await provider.startProcess(sandbox.id, { name: "talker", command: "echo oops >&2; sleep 0.3; echo first; echo last; sleep 30" });
    const logs = await waitFor("the lines", async () => {
      const current = await provider.processLogs(sandbox.id, processId);
      return current.output.includes("last") && current.output.includes("oops") && current;
    });
    expect(logs.output.split("\n").sort()).toEqual(["", "first", "last", "oops"]);
    expect(logs.output).not.toMatch(/[\x01\x02]/);
    // The last line is "last\n"; a tail of 6 bytes would start inside its marker if markers were cut with it.
    expect((await provider.processLogs(sandbox.id, processId, { tailBytes: 6 })).output).toBe("\nlast\n".slice(-6));
    await provider.stopProcess(sandbox.id, processId);
  });

  it("deletes a process's session when it ends, is stopped or is replaced, and still answers its last logs", async () => {
    const { provider, fake } = harness;
    const sessions = () => [...fake.sandbox(sandbox.id)!.sessions.keys()];
    const quick = await provider.startProcess(sandbox.id, { name: "quick", command: "echo bye; exit 3" });
    const ended = await waitFor("the process to end", async () => {
      const current = await provider.processLogs(sandbox.id, quick.processId);
      return !current.running && current;
    });
    expect(ended).toEqual({ output: "bye\n", running: false, exitCode: 3 });
    expect(sessions()).not.toContain(quick.processId);
    expect(await provider.processLogs(sandbox.id, quick.processId, { tailBytes: 2 })).toEqual({ output: "e\n", running: false, exitCode: 3 });

    const first = await provider.startProcess(sandbox.id, { name: "dev", command: "echo one" });
    // Watched through the SDK itself: a provider reading its logs would retire it first.
    const observer = new Daytona({ apiKey: fake.apiKey, apiUrl: fake.apiUrl, useDeprecatedPolling: true });
    const raw = await observer.get(sandbox.id);
    await waitFor("the first to end", async () => (await raw.process.getSession(first.processId)).commands?.[0]?.exitCode != null);
    await observer[Symbol.asyncDispose]();
    const second = await provider.startProcess(sandbox.id, { name: "dev", command: `sleep ${sleepMarker()}` });
    expect(sessions()).not.toContain(first.processId);
    expect(sessions()).toContain(second.processId);
    await provider.stopProcess(sandbox.id, second.processId);
    expect(sessions()).not.toContain(second.processId);
    expect((await provider.processLogs(sandbox.id, second.processId)).running).toBe(false);
  });

  it("runs a long command as an async session command polled to its end, without one request held for it", async () => {
    const { provider, fake } = harness;
    const executes = requests("/process/execute").length;
    const result = await provider.exec(sandbox.id, { command: "echo out; echo err >&2; sleep 1; exit 4", timeoutMs: 10_000, maxOutputBytes: 4096, env: { WHO: "kiln" } });
    expect(result).toMatchObject({ exitCode: 4, stdout: "out\n", stderr: "err\n", timedOut: false, cancelled: false });
    expect(requests("/process/execute").length).toBe(executes);
    const exec = fake.requests.filter((request) => /\/process\/session\/kilnx-[0-9a-f]+\/exec$/.test(request.path)).at(-1);
    expect(exec?.body).toMatchObject({ runAsync: true });
    expect([...fake.sandbox(sandbox.id)!.sessions.keys()].filter((id) => id.startsWith("kilnx-"))).toEqual([]);
    expect((await provider.exec(sandbox.id, { command: 'printf %s "$WHO"', timeoutMs: 10_000, maxOutputBytes: 1024, env: { WHO: "kiln's" } })).stdout).toBe("kiln's");
  });

  it("still cancels a long command (and what it started) when its signal fires", async () => {
    const marker = sleepMarker();
    const controller = new AbortController();
    const running = harness.provider.exec(sandbox.id, { command: `sleep ${marker} & sleep ${marker}; wait`, timeoutMs: 60_000, maxOutputBytes: 1024, signal: controller.signal });
    await waitFor("the command to run", async () => (await processesWith(`sleep ${marker}`)).length >= 2);
    controller.abort();
    expect(await running).toMatchObject({ exitCode: null, cancelled: true, timedOut: false });
    await expectNoSurvivor(marker);
  });

  it("times out a long command by its own watchdog, keeping its output", async () => {
    const result = await harness.provider.exec(sandbox.id, { command: `echo before; sleep ${sleepMarker()}`, timeoutMs: 3500, maxOutputBytes: 1024 });
    expect(result).toMatchObject({ exitCode: null, timedOut: true, stdout: "before\n" });
  });
  it("says the project directory is missing when Daytona answers exitCode -1 for a cwd it cannot enter (not a lost timeout)", async () => {
    const { provider } = harness;
    const doomed = await provider.create({ workspaceId: "wsp_nocwd", projectId: "prj_proc" });
    expect((await provider.exec(doomed.id, { command: "cd .. && mv project moved-away", timeoutMs: 5000, maxOutputBytes: 1024 })).exitCode).toBe(0);
    const home = harness.fake.sandbox(doomed.id)!.home;
    await expect(provider.exec(doomed.id, { command: "true", timeoutMs: 2000, maxOutputBytes: 1024 })).rejects.toMatchObject({
      code: "internal",
      message: `Daytona could not run a command (exit code -1): the project directory ${home}/project is missing`,
    });
    // The same as a session command (allowed longer than asyncExecAfterMs): the wrapper says so itself.
    await expect(provider.exec(doomed.id, { command: "true", timeoutMs: 5000, maxOutputBytes: 1024 })).rejects.toMatchObject({
      message: expect.stringContaining(`the project directory ${home}/project is missing`),
    });
    await provider.delete(doomed.id);
  });
});

describe("daytona provider: activity while in use", () => {
  let harness: DaytonaHarness;

  beforeAll(async () => {
    // One minute of auto-stop lasts 800 ms here; the provider refreshes activity every 50 ms while it holds a sandbox.
    harness = await startDaytonaHarness({
      fake: { realism: { autoStopMsPerMinute: 800 } },
      provider: { autoStopMinutes: 1, activity: { intervalMs: 50, afterUseMs: 1, previewMs: 5000 } },
    });
  });
  afterAll(() => harness.cleanup());

  it("keeps a sandbox whose preview is live awake past its auto-stop; one nobody uses stops", async () => {
    const { provider, fake } = harness;
    const idle = await provider.create({ workspaceId: "wsp_idle", projectId: "prj_act" });
    const watched = await provider.create({ workspaceId: "wsp_watched", projectId: "prj_act" });
    await provider.previewUrl(watched.id, harness.devPort);
    await waitFor("the idle one to stop", async () => fake.sandbox(idle.id)?.state === "stopped", 10_000);
    expect(fake.sandbox(watched.id)).toMatchObject({ state: "started", desiredState: "started" });
    expect(fake.requests.filter((request) => request.path === `/api/sandbox/${watched.id}/last-activity`).length).toBeGreaterThan(3);
    expect(fake.requests.filter((request) => request.path === `/api/sandbox/${idle.id}/last-activity`)).toEqual([]);
  });

  it("keeps a sandbox awake while a command runs longer than the auto-stop", async () => {
    const { provider, fake } = harness;
    const busy = await provider.create({ workspaceId: "wsp_busy", projectId: "prj_act" });
    const result = await provider.exec(busy.id, { command: "sleep 2.5; echo done", timeoutMs: 10_000, maxOutputBytes: 1024 });
    expect(result).toMatchObject({ exitCode: 0, stdout: "done\n" });
    expect(fake.sandbox(busy.id)).toMatchObject({ state: "started", desiredState: "started" });
  });
});
