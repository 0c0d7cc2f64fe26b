import { createHash, randomInt } from "node:crypto";
import { readdir, readFile } from "node:fs/promises";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { describePath, safeRelativePath } from "../../lib/paths";
import { HOSTILE_PATHS } from "../../test/support/hostile-paths";
import { KILN_LABEL, type SandboxInfo, type SandboxProvider } from "./provider";

/** A provider under test and what the suite needs to know about where it runs. */
export interface ProviderHarness {
  provider: SandboxProvider;
  /** A port of the provider's preview range that nothing listens on. */
  devPort: number;
  /** A digest of everything outside the sandboxes' project directories the provider must never touch (a constant where it cannot be observed). */
  outsideFingerprint(): Promise<string>;
  cleanup(): Promise<void>;
}

/** Polls `check` every 25 ms until it returns a value other than undefined/false, for at most `timeoutMs`. */
export async function waitFor<T>(what: string, check: () => Promise<T | undefined | false>, timeoutMs = 10_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value !== undefined && value !== false) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

/**
 * Pids of this machine's live processes whose command line contains `marker`. The suite's processes
 * run on this machine for the local provider and for Daytona's fake (backed by local sandboxes).
 */
export async function processesWith(marker: string): Promise<number[]> {
  const pids = (await readdir("/proc")).filter((name) => /^\d+$/.test(name));
  const found = await Promise.all(
    pids.map(async (pid) => {
      const cmdline = await readFile(`/proc/${pid}/cmdline`, "utf8").catch(() => "");
      return cmdline.split("\0").join(" ").includes(marker) ? Number(pid) : undefined;
    }),
  );
  return found.filter((pid): pid is number => pid !== undefined);
}

/** Waits (bounded) until no process on this machine has `marker` in its command line; the failure lists the survivors. */
export async function expectNoSurvivor(marker: string): Promise<void> {
  try {
    await waitFor(`no process left with ${marker}`, async () => (await processesWith(marker)).length === 0, 5000);
  } catch (err) {
    const survivors = await Promise.all((await processesWith(marker)).map((pid) => readFile(`/proc/${pid}/stat`, "utf8").catch(() => `${pid} gone`)));
    throw new Error(`${(err as Error).message}; survivors:\n${survivors.join("\n")}`);
  }
}


/** A `sleep` argument no other process on the machine has: the command line marks the process. */
export function sleepMarker(): string {
  return `100.${randomInt(1e9)}${randomInt(1e9)}`;
}

async function rejection(promise: Promise<unknown>): Promise<{ code: string; message: string }> {
  try {
    await promise;
  } catch (err) {
    return err as { code: string; message: string };
  }
  throw new Error("expected a rejection");
}

const sha256 = (content: Buffer) => createHash("sha256").update(content).digest("hex");

/**
 * The behaviour every sandbox provider must show, as one vitest suite: lifecycle, files, commands,
 * background processes with preview URLs, and refusal of hostile paths. `makeProvider` runs once.
 */
export function describeProviderSuite(name: string, makeProvider: () => Promise<ProviderHarness>): void {
  describe(`sandbox provider: ${name}`, () => {
    let harness: ProviderHarness;
    let provider: SandboxProvider;
    let sandbox: SandboxInfo;
    const run = (command: string, extra: { cwd?: string; env?: Record<string, string>; timeoutMs?: number } = {}) =>
      provider.exec(sandbox.id, { command, timeoutMs: 20_000, maxOutputBytes: 1024 * 1024, ...extra });

    beforeAll(async () => {
      harness = await makeProvider();
      provider = harness.provider;
      sandbox = await provider.create({ workspaceId: "wsp_suite", projectId: "prj_suite" });
    });

    afterAll(async () => {
      await harness?.cleanup();
    });

    it("creates a running sandbox labelled as Kiln's", async () => {
      expect(sandbox.state).toBe("running");
      expect(sandbox.labels).toMatchObject({ [KILN_LABEL]: "true", "kiln.workspace": "wsp_suite", "kiln.project": "prj_suite" });
      expect(await provider.get(sandbox.id)).toMatchObject({ id: sandbox.id, state: "running" });
      expect((await provider.list()).map((info) => info.id)).toContain(sandbox.id);
    });

    it("round-trips text, all 256 byte values and nested files, with their modes", async () => {
      const binary = Buffer.from(Array.from({ length: 256 }, (_, byte) => byte));
      const files = [
        { path: "hello.txt", content: Buffer.from("hello, kiln\n") },
        { path: "assets/all-bytes.bin", content: binary },
        { path: "deep/a/b/c/d.txt", content: Buffer.from("deep ünïcödé 🙂") },
        { path: "scripts/run.sh", content: Buffer.from("#!/bin/sh\necho run\n"), mode: 0o755 },
        { path: "empty.txt", content: Buffer.alloc(0) },
      ];
      await provider.writeFiles(sandbox.id, files);
      const read = await provider.readFiles(sandbox.id, files.map((file) => file.path));
      expect(read).toEqual(files.map((file) => ({ path: file.path, content: file.content })));
      const listed = await provider.listFiles(sandbox.id, { recursive: true });
      expect(listed.find((entry) => entry.path === "scripts/run.sh")?.mode).toBe(0o755);
      expect(listed.find((entry) => entry.path === "hello.txt")?.mode).toBe(0o644);
      expect((await run("./scripts/run.sh")).stdout).toBe("run\n");
    });

    it("overwrites a file and reports missing paths and directories per file", async () => {
      await provider.writeFiles(sandbox.id, [{ path: "over.txt", content: Buffer.from("first version, longer") }]);
      await provider.writeFiles(sandbox.id, [{ path: "over.txt", content: Buffer.from("second") }]);
      expect(await provider.readFiles(sandbox.id, ["over.txt", "missing.txt", "deep", "hello.txt/below"])).toEqual([
        { path: "over.txt", content: Buffer.from("second") },
        { path: "missing.txt", error: "not_found" },
        { path: "deep", error: "is_directory" },
        { path: "hello.txt/below", error: "not_found" },
      ]);
      const inTheWay = rejection(provider.writeFiles(sandbox.id, [{ path: "hello.txt/child.txt", content: Buffer.from("x") }]));
      expect(await inTheWay).toMatchObject({ code: "invalid_argument", message: expect.stringContaining('"hello.txt/child.txt"') });
      expect((await rejection(provider.writeFiles(sandbox.id, [{ path: "deep/a", content: Buffer.from("x") }]))).code).toBe("invalid_argument");
      const twice = [{ path: "twice.txt", content: Buffer.from("1") }, { path: "./twice.txt", content: Buffer.from("2") }];
      expect((await rejection(provider.writeFiles(sandbox.id, twice))).code).toBe("invalid_argument");
    });

    it("lists one level or recursively, with sizes and sha256 of the content", async () => {
      const content = Buffer.from("listed content\n");
      await provider.writeFiles(sandbox.id, [
        { path: "list/top.txt", content },
        { path: "list/sub/inner.txt", content: Buffer.from("inner") },
      ]);
      expect(await provider.listFiles(sandbox.id, { path: "list" })).toEqual([
        expect.objectContaining({ path: "list/sub", isDir: true }),
        expect.objectContaining({ path: "list/top.txt", isDir: false, size: content.length }),
      ]);
      const hashed = await provider.listFiles(sandbox.id, { path: "list", recursive: true, hashes: true });
      expect(hashed.map((entry) => [entry.path, entry.sha256])).toEqual([
        ["list/sub", undefined],
        ["list/sub/inner.txt", sha256(Buffer.from("inner"))],
        ["list/top.txt", sha256(content)],
      ]);
      expect(await provider.listFiles(sandbox.id, { path: "list/top.txt", hashes: true })).toEqual([
        expect.objectContaining({ path: "list/top.txt", size: content.length, sha256: sha256(content) }),
      ]);
      expect((await rejection(provider.listFiles(sandbox.id, { path: "no/such/dir" }))).code).toBe("not_found");
    });

    it("skips node_modules, .git, dist, build, .next and .cache by exact name only", async () => {
      const kept = ["ign/node_modules_backup/a.txt", "ign/my-build-tools/b.txt", "ign/src/builder.ts", "ign/distance/c.txt", "ign/cache/d.txt"];
      const skipped = ["ign/node_modules/x/index.js", "ign/.git/HEAD", "ign/dist/app.js", "ign/src/build/out.js", "ign/.next/trace", "ign/.cache/e"];
      await provider.writeFiles(sandbox.id, [...kept, ...skipped].map((path) => ({ path, content: Buffer.from(path) })));
      const files = (await provider.listFiles(sandbox.id, { path: "ign", recursive: true })).filter((entry) => !entry.isDir).map((entry) => entry.path);
      expect(files).toEqual([...kept].sort());
    });

    it("renames files and directories and deletes them", async () => {
      await provider.writeFiles(sandbox.id, [
        { path: "mv/from.txt", content: Buffer.from("moving") },
        { path: "mv/dir/one.txt", content: Buffer.from("1") },
      ]);
      await provider.rename(sandbox.id, "mv/from.txt", "mv/new/parent/to.txt");
      await provider.rename(sandbox.id, "mv/dir", "mv/renamed-dir");
      expect(await provider.readFiles(sandbox.id, ["mv/from.txt", "mv/new/parent/to.txt", "mv/renamed-dir/one.txt"])).toEqual([
        { path: "mv/from.txt", error: "not_found" },
        { path: "mv/new/parent/to.txt", content: Buffer.from("moving") },
        { path: "mv/renamed-dir/one.txt", content: Buffer.from("1") },
      ]);
      expect((await rejection(provider.rename(sandbox.id, "mv/absent.txt", "mv/x.txt"))).code).toBe("not_found");
      await provider.deletePaths(sandbox.id, ["mv/new/parent/to.txt", "mv/renamed-dir", "mv/never-existed.txt"]);
      expect((await provider.listFiles(sandbox.id, { path: "mv", recursive: true })).map((entry) => entry.path)).toEqual(["mv/new", "mv/new/parent"]);
    });

    it("runs commands with exit codes, stdout, stderr, cwd and env", async () => {
      const mixed = await run("echo out; echo err >&2; exit 3");
      expect(mixed).toMatchObject({ exitCode: 3, stdout: "out\n", stderr: "err\n", timedOut: false, cancelled: false, droppedBytes: 0 });
      expect(mixed.output.split("\n").sort()).toEqual(["", "err", "out"]);
      await provider.writeFiles(sandbox.id, [{ path: "sub/dir/marker.txt", content: Buffer.from("") }]);
      expect((await run('basename "$PWD"; ls', { cwd: "sub/dir" })).stdout).toBe("dir\nmarker.txt\n");
      const greeting = "hi 'there' $(not run) `nor this`";
      expect((await run('printf %s "$GREETING"', { env: { GREETING: greeting } })).stdout).toBe(greeting);
      expect((await rejection(run("true", { cwd: "hello.txt" }))).code).toBe("invalid_argument");
    });

    it("kills a timed-out command and every process it forked", async () => {
      const marker = sleepMarker();
      const result = run(`sleep ${marker} & sleep ${marker} & wait`, { timeoutMs: 1000 });
      await waitFor("both children to run", async () => (await processesWith(`sleep ${marker}`)).length >= 2);
      expect(await result).toMatchObject({ exitCode: null, timedOut: true, cancelled: false });
      await expectNoSurvivor(marker);
    });

    it("sends SIGTERM first, then SIGKILL to what ignores it", async () => {
      const polite = await run(`trap 'echo got-term; exit 0' TERM; sleep ${sleepMarker()} & wait`, { timeoutMs: 600 });
      expect(polite).toMatchObject({ exitCode: null, timedOut: true });
      expect(polite.stdout).toContain("got-term");
      const stubborn = sleepMarker();
      expect(await run(`trap '' TERM; sleep ${stubborn}`, { timeoutMs: 300 })).toMatchObject({ exitCode: null, timedOut: true });
      await expectNoSurvivor(stubborn);
    });

    it("kills what a finished command left running in the background", async () => {
      const marker = sleepMarker();
      const result = await run(`sleep ${marker} & echo started`);
      expect(result).toMatchObject({ exitCode: 0, stdout: "started\n", timedOut: false });
      await expectNoSurvivor(marker);
    });

    it("kills a command when its AbortSignal fires", async () => {
      const marker = sleepMarker();
      const controller = new AbortController();
      const result = provider.exec(sandbox.id, { command: `sleep ${marker}`, timeoutMs: 60_000, maxOutputBytes: 1024, signal: controller.signal });
      await waitFor("the command to run", async () => (await processesWith(`sleep ${marker}`)).length >= 1);
      controller.abort();
      const ended = await result;
      expect(ended).toMatchObject({ exitCode: null, timedOut: false, cancelled: true });
      expect(ended.durationMs).toBeLessThan(10_000);
      await expectNoSurvivor(marker);
    });

    it("caps a 5 MB output, keeping head and tail and saying how much was dropped", async () => {
      const result = await provider.exec(sandbox.id, {
        command: "echo THE-START; head -c 5000000 /dev/zero | tr '\\0' a; echo; echo THE-END",
        timeoutMs: 20_000,
        maxOutputBytes: 64 * 1024,
      });
      expect(result.exitCode).toBe(0);
      expect(result.droppedBytes).toBeGreaterThan(4_800_000);
      expect(result.output.startsWith("THE-START\naaaa")).toBe(true);
      expect(result.output.endsWith("aaaa\nTHE-END\n")).toBe(true);
      expect(result.output).toContain(String(result.droppedBytes));
      expect(result.output.length).toBeLessThan(64 * 1024 + 200);
    });

    it("serves a background dev server at the preview URL, with logs, until stopped", async () => {
      await provider.writeFiles(sandbox.id, [
        {
          path: "server.mjs",
          content: Buffer.from(
            'import http from "node:http";\n' +
              'http.createServer((req, res) => res.end("hello from kiln")).listen(Number(process.env.PORT), () => console.log("listening on " + process.env.PORT));\n',
          ),
        },
      ]);
      const env = { PORT: String(harness.devPort) };
      const { processId } = await provider.startProcess(sandbox.id, { name: "dev", command: "node server.mjs", env });
      expect((await rejection(provider.startProcess(sandbox.id, { name: "dev", command: "node server.mjs", env }))).code).toBe("already_exists");
      const { url } = await provider.previewUrl(sandbox.id, harness.devPort);
      // Before the server listens a provider's proxy may answer for it (Daytona's: 502): only a 200 is the app.
      const response = await waitFor("the dev server to answer", () => fetch(url).then((answer) => answer.status === 200 && answer, () => undefined));
      expect(response.status).toBe(200);
      expect(await response.text()).toBe("hello from kiln");
      const logs = await waitFor("the log line", async () => {
        const current = await provider.processLogs(sandbox.id, processId);
        return current.output.includes("listening") && current;
      });
      expect(logs).toMatchObject({ running: true, exitCode: null });
      expect((await provider.processLogs(sandbox.id, processId, { tailBytes: 3 })).output).toBe(`${harness.devPort}\n`.slice(-3));
      await provider.stopProcess(sandbox.id, processId);
      expect((await provider.processLogs(sandbox.id, processId)).running).toBe(false);
      await waitFor("the dev server to be gone", () => fetch(url).then((answer) => answer.status >= 500, () => true));
      expect((await rejection(provider.processLogs(sandbox.id, "proc_unknown"))).code).toBe("not_found");
    });

    it("refuses every hostile path in every file method, touching nothing outside", async () => {
      const before = await harness.outsideFingerprint();
      const content = Buffer.from("escaped");
      for (const [, path] of HOSTILE_PATHS) {
        const namesRoot = (() => {
          try {
            return safeRelativePath("path", path, { allowRoot: true }) === "";
          } catch {
            return false;
          }
        })();
        const calls: Array<() => Promise<unknown>> = [
          () => provider.writeFiles(sandbox.id, [{ path: "fine.txt", content }, { path, content }]),
          () => provider.readFiles(sandbox.id, ["hello.txt", path]),
          () => provider.deletePaths(sandbox.id, ["hello.txt", path]),
          () => provider.rename(sandbox.id, path, "renamed.txt"),
          () => provider.rename(sandbox.id, "hello.txt", path),
        ];
        if (!namesRoot) {
          calls.push(() => provider.listFiles(sandbox.id, { path }));
          calls.push(() => run("touch escaped.txt", { cwd: path }));
          calls.push(() => provider.startProcess(sandbox.id, { name: "hostile", command: "touch escaped.txt", cwd: path }));
        }
        for (const call of calls) {
          const err = await rejection(call());
          expect(err.code, `${JSON.stringify(path)}: ${err.message}`).toBe("invalid_argument");
          expect(err.message).toContain(describePath(path));
        }
      }
      expect(await provider.readFiles(sandbox.id, ["fine.txt", "hello.txt", "escaped.txt"])).toEqual([
        { path: "fine.txt", error: "not_found" },
        { path: "hello.txt", content: Buffer.from("hello, kiln\n") },
        { path: "escaped.txt", error: "not_found" },
      ]);
      expect(await harness.outsideFingerprint()).toBe(before);
    });

    it("stops (killing its processes) and starts again with its files", async () => {
      const marker = sleepMarker();
      await provider.startProcess(sandbox.id, { name: "sleeper", command: `sleep ${marker}` });
      await waitFor("the process to run", async () => (await processesWith(`sleep ${marker}`)).length >= 1);
      expect(await provider.stop(sandbox.id)).toMatchObject({ state: "stopped" });
      expect(await provider.get(sandbox.id)).toMatchObject({ state: "stopped" });
      await expectNoSurvivor(marker);
      expect((await rejection(run("true"))).code).toBe("failed_precondition");
      expect((await rejection(provider.readFiles(sandbox.id, ["hello.txt"]))).code).toBe("failed_precondition");
      expect(await provider.start(sandbox.id)).toMatchObject({ state: "running" });
      expect(await provider.readFiles(sandbox.id, ["hello.txt"])).toEqual([{ path: "hello.txt", content: Buffer.from("hello, kiln\n") }]);
    });

    it("deletes a sandbox: gone for get and list, not_found for everything else", async () => {
      const doomed = await provider.create({ workspaceId: "wsp_doomed", projectId: "prj_suite" });
      await provider.writeFiles(doomed.id, [{ path: "a.txt", content: Buffer.from("a") }]);
      await provider.delete(doomed.id);
      expect(await provider.get(doomed.id)).toMatchObject({ id: doomed.id, state: "gone" });
      expect((await provider.list()).map((info) => info.id)).not.toContain(doomed.id);
      const calls: Array<() => Promise<unknown>> = [
        () => provider.start(doomed.id),
        () => provider.stop(doomed.id),
        () => provider.delete(doomed.id),
        () => provider.writeFiles(doomed.id, [{ path: "a.txt", content: Buffer.from("a") }]),
        () => provider.readFiles(doomed.id, ["a.txt"]),
        () => provider.listFiles(doomed.id, {}),
        () => provider.deletePaths(doomed.id, ["a.txt"]),
        () => provider.rename(doomed.id, "a.txt", "b.txt"),
        () => provider.exec(doomed.id, { command: "true", timeoutMs: 1000, maxOutputBytes: 1024 }),
        () => provider.startProcess(doomed.id, { name: "dev", command: "true" }),
        () => provider.processLogs(doomed.id, "proc_x"),
        () => provider.stopProcess(doomed.id, "proc_x"),
        () => provider.previewUrl(doomed.id, harness.devPort),
      ];
      for (const call of calls) expect((await rejection(call())).code).toBe("not_found");
    });
  });
}
