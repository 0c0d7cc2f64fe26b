import { randomBytes } from "node:crypto";
import { existsSync } from "node:fs";
import { mkdir, mkdtemp, readdir, readFile, rm, symlink, writeFile } from "node:fs/promises";
import { createServer, type Server } from "node:net";
import { join } from "node:path";
import { getPriority } from "node:os";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Logger } from "../../lib/log";
import { shellQuote } from "../../lib/paths";
import { MISSING_ISOLATION, noteMissingIsolation, searchableTempDir, withoutIsolationPrograms } from "../../test/support/isolation";
import { createLocalProvider } from "./local";
import type { SandboxInfo, SandboxProvider } from "./provider";
import { reservePorts } from "../../test/support/ports";
import { waitFor } from "./provider-suite";

const silent: Logger = { debug() {}, info() {}, warn: (message, fields) => console.warn(message, fields), error() {}, child: () => silent };

/** The body a preview answers, or undefined while nothing does (each try bounded: a forward may hold a connection). */
const answer = (url: string) => fetch(url, { signal: AbortSignal.timeout(1000) }).then((response) => response.text(), () => undefined);
const base = await searchableTempDir("kiln-isolation-");
noteMissingIsolation("isolation suite");
afterAll(() => rm(base, { recursive: true, force: true }));

/** Starts a dev server in the sandbox answering `body` on `port`, forwards the port and waits until the host gets the answer. */
async function serve(provider: SandboxProvider, id: string, port: number, body: string): Promise<string> {
  await provider.writeFiles(id, [{ path: "serve.js", content: Buffer.from(`require("http").createServer((q, r) => r.end(${JSON.stringify(body)})).listen(process.env.PORT, "0.0.0.0")`) }]);
  await provider.startProcess(id, { name: `serve-${port}`, command: "node serve.js", env: { PORT: String(port) } });
  const link = await provider.previewUrl(id, port);
  return waitFor(`a preview on port ${port}`, () => answer(link.url), 10_000);
}

/** Listens on 127.0.0.1 and counts connections: the stand-in for every service on the host's loopback. */
async function canaryServer(): Promise<{ port: number; connections: () => number; close: () => Promise<void> }> {
  let connections = 0;
  const server: Server = createServer((socket) => {
    connections++;
    socket.end("canary\n");
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return { port: (server.address() as { port: number }).port, connections: () => connections, close: () => new Promise((resolve) => server.close(() => resolve())) };
}

describe("the local provider fails closed", () => {
  it("refuses sandboxes and commands when bubblewrap and slirp4netns are missing, naming them and their packages", async () => {
    // A sandbox made earlier (here by an unconfined provider on the same data directory) gets no command either.
    const earlier = await createLocalProvider({ root: join(base, "refusing"), portRange: [41000, 41001], log: silent, isolation: "none" });
    const existing = await earlier.create({ workspaceId: "wsp_e", projectId: "prj_e" });
    await earlier.close();
    const provider = await withoutIsolationPrograms(() => createLocalProvider({ root: join(base, "refusing"), portRange: [41000, 41001], log: silent }));
    const health = await provider.health();
    expect(health.status).toBe("fail");
    for (const words of ["bubblewrap (bwrap) is not installed", "slirp4netns is not installed", "apt-get install -y bubblewrap slirp4netns", "KILN_SANDBOX_ISOLATION=none"]) {
      expect(health.detail).toContain(words);
    }
    await expect(provider.create({ workspaceId: "wsp_r", projectId: "prj_r" })).rejects.toMatchObject({ code: "unavailable", message: health.detail });
    await expect(provider.exec(existing.id, { command: "true", timeoutMs: 1000, maxOutputBytes: 1024 })).rejects.toMatchObject({ code: "unavailable", message: health.detail });
    await expect(provider.readFiles(existing.id, ["a.txt"])).rejects.toMatchObject({ code: "unavailable" });
    await provider.close();
  });
});

// Needs Debian's bubblewrap and slirp4netns (.ci/run installs them); without them the refusal above is what runs.
describe.skipIf(MISSING_ISOLATION !== undefined)("the boundary of an isolated local sandbox", () => {
  let provider: SandboxProvider;
  let sandbox: SandboxInfo;
  let neighbour: SandboxInfo;
  let firstPort: number;
  const canarySecret = `canary-${randomBytes(16).toString("hex")}`;
  const outside = join(base, "outside");
  const hostCanary = join(outside, "canary-secret.txt");
  const run = (command: string, timeoutMs = 20_000) => provider.exec(sandbox.id, { command, timeoutMs, maxOutputBytes: 1024 * 1024 });

  /** Names and contents of everything in the host directory outside the data directory. */
  async function outsideState(): Promise<string> {
    const names = (await readdir(outside, { recursive: true })).sort();
    const contents = await Promise.all(names.map((name) => readFile(join(outside, name), "utf8").catch(() => "<dir>")));
    return names.map((name, index) => `${name}=${contents[index]}`).join("\n");
  }

  beforeAll(async () => {
    await mkdir(join(outside, "write-target"), { recursive: true });
    await writeFile(hostCanary, canarySecret);
    [firstPort] = await reservePorts(3);
    provider = await createLocalProvider({ root: join(base, "data"), portRange: [firstPort, firstPort + 2], log: silent, killGraceMs: 500 });
    sandbox = await provider.create({ workspaceId: "wsp_boundary", projectId: "prj_boundary" });
    neighbour = await provider.create({ workspaceId: "wsp_neighbour", projectId: "prj_neighbour" });
  });
  afterAll(() => provider?.close());

  it("wins nothing by racing symlinks against every file operation: no host file read, none written", async () => {
    const before = await outsideState();
    // Inside, swap a directory and a symlink to the host's directory (and to / and /proc) with RENAME_EXCHANGE, as fast as it can.
    const swapper = [
      "import ctypes, os, sys",
      "libc = ctypes.CDLL(None, use_errno=True)",
      "os.makedirs('race/real', exist_ok=True)",
      "open('race/real/file.txt', 'w').write('inside')",
      "targets = sys.argv[1:]",
      "i = 0",
      "while True:",
      "    link = 'race/link%d' % (i % len(targets))",
      "    try: os.symlink(targets[i % len(targets)], link)",
      "    except FileExistsError: pass",
      "    libc.renameat2(-100, b'race/real', -100, link.encode(), 2)",
      "    i += 1",
    ].join("\n");
    await provider.writeFiles(sandbox.id, [{ path: "swapper.py", content: Buffer.from(swapper) }]);
    const targets = [outside, "/", "/proc/1", join(outside, "write-target")].map(shellQuote).join(" ");
    const { processId } = await provider.startProcess(sandbox.id, { name: "swapper", command: `exec python3 swapper.py ${targets}` });
    await waitFor("the swapper to start", async () => (await provider.listFiles(sandbox.id, { path: "race" }).catch(() => [])).length > 0);

    const seen: string[] = [];
    const deadline = Date.now() + 4000;
    let round = 0;
    while (Date.now() < deadline) {
      round++;
      const attempts = [
        provider.readFiles(sandbox.id, ["race/real/file.txt", "race/real/canary-secret.txt", "race/real/environ", "race/link0/canary-secret.txt"]).then((files) =>
          files.forEach((file) => "content" in file && seen.push(file.content.toString("utf8"))),
        ),
        provider.writeFiles(sandbox.id, [{ path: `race/real/written-${round}.txt`, content: Buffer.from("from the race") }]),
        provider.listFiles(sandbox.id, { path: "race/real", recursive: true, hashes: true }).then((entries) => entries.forEach((entry) => seen.push(entry.path))),
        provider.rename(sandbox.id, "race/real/file.txt", "race/real/file.txt"),
        provider.deletePaths(sandbox.id, [`race/real/written-${round - 1}.txt`, "race/real/canary-secret.txt"]),
        provider.exec(sandbox.id, { command: "grep -r canary race/ 2>/dev/null | head -c 2000; true", timeoutMs: 5000, maxOutputBytes: 4096 }).then((result) => seen.push(result.output)),
      ];
      await Promise.allSettled(attempts);
    }
    await provider.stopProcess(sandbox.id, processId);
    expect(round).toBeGreaterThan(5);
    expect(seen.join("\n")).not.toContain(canarySecret);
    expect(await outsideState()).toBe(before);
    expect(await readdir(join(outside, "write-target"))).toEqual([]);
  });

  it("follows no symlink or hard link to the host's files", async () => {
    await run(`ln -s ${shellQuote(hostCanary)} abs-link; ln -s /proc/1/environ env-link; ln ${shellQuote(hostCanary)} hard-link; ln /etc/passwd hard-passwd; true`);
    const read = await provider.readFiles(sandbox.id, ["abs-link", "hard-link", "hard-passwd"]);
    expect(read.every((file) => !("content" in file) || !file.content.toString("utf8").includes(canarySecret))).toBe(true);
    await expect(provider.readFiles(sandbox.id, ["env-link"])).rejects.toMatchObject({ code: "invalid_argument", message: expect.stringContaining("outside the project root") });
    await provider.writeFiles(sandbox.id, [{ path: "abs-link", content: Buffer.from("replaces the link") }]);
    expect(await readFile(hostCanary, "utf8")).toBe(canarySecret);
    expect((await run(`cat ${shellQuote(hostCanary)}`)).exitCode).not.toBe(0);
  });

  it("shows a command no process of the server: its own /proc, no secret in any environment", async () => {
    process.env.KILN_ISOLATION_TEST_SECRET = canarySecret;
    try {
      const result = await run("ls /proc | grep -E '^[0-9]+$' | wc -l; cat /proc/*/environ /proc/*/cmdline 2>/dev/null | tr '\\0' '\\n'; id -u");
      const [count] = result.stdout.split("\n");
      expect(Number(count)).toBeLessThan(8);
      expect(result.stdout).not.toContain(canarySecret);
      expect(result.stdout).not.toContain(String(process.pid) + "\n");
      expect(result.stdout.trim().split("\n").pop()).not.toBe("0");
      const server = await run(`cat /proc/${process.pid}/environ; ls /proc/${process.pid}`);
      expect(server.exitCode).not.toBe(0);
      expect(server.output).not.toContain(canarySecret);
    } finally {
      delete process.env.KILN_ISOLATION_TEST_SECRET;
    }
  });

  it("reaches nothing on the host's loopback: Postgres, a canary, another sandbox's preview; its own preview answers on the host", async () => {
    const canary = await canaryServer();
    const neighbourPort = firstPort + 1;
    expect(await serve(provider, neighbour.id, neighbourPort, "neighbour")).toBe("neighbour");
    try {
      const targets = [
        ["127.0.0.1", canary.port],
        ["10.0.2.2", canary.port],
        ["127.0.0.1", 5432],
        ["10.0.2.2", 5432],
        ["127.0.0.1", neighbourPort],
        ["10.0.2.2", neighbourPort],
      ];
      const probe = targets.map(([host, port]) => `(timeout 3 bash -c 'echo > /dev/tcp/${host}/${port}' 2>/dev/null && echo "OPEN ${host}:${port}" || echo "closed ${host}:${port}")`).join("; ");
      const result = await run(probe);
      expect(result.stdout).not.toContain("OPEN");
      expect(result.stdout.match(/closed/g)).toHaveLength(targets.length);
      expect(canary.connections()).toBe(0);

      expect(await serve(provider, sandbox.id, firstPort, "own preview")).toBe("own preview");
    } finally {
      await canary.close();
    }
  });

  it("refuses a preview whose host port another program holds, instead of showing that program", async () => {
    const taken = firstPort + 2;
    const squatter = createServer((socket) => socket.end("HTTP/1.1 200 OK\r\ncontent-length: 8\r\n\r\nsquatter"));
    await new Promise<void>((resolve) => squatter.listen(taken, "127.0.0.1", resolve));
    try {
      await expect(provider.previewUrl(sandbox.id, taken)).rejects.toMatchObject({ code: "unavailable", message: expect.stringContaining("another program") });
    } finally {
      await new Promise((resolve) => squatter.close(resolve));
    }
  });

  it("limits every command, and no command can raise its limits", async () => {
    const limits = await run("ulimit -H -u; ulimit -H -f; ulimit -H -n; ulimit -H -d; ulimit -c; (ulimit -d unlimited && echo RAISED) 2>&1; (ulimit -u unlimited && echo RAISED) 2>&1");
    const [processes, fileBlocks, openFiles, dataKiB, core] = limits.stdout.split("\n");
    // Processes are counted per host uid: limited where each sandbox has its own (Kiln running as root).
    if (process.getuid?.() === 0) expect(Number(processes)).toBe(1024);
    expect(Number(fileBlocks)).toBe(2 * 1024 * 1024);
    expect(Number(openFiles)).toBe(8192);
    expect(Number(dataKiB)).toBe(4 * 1024 * 1024);
    expect(core).toBe("0");
    expect(limits.stdout).not.toContain("RAISED");
    const hog = await run(`node -e 'const kept = []; try { for (let i = 0; i < 600; i++) kept.push(Buffer.alloc(1e7, 1)); console.log("ALLOCATED 6 GB") } catch { console.log("refused at", kept.length * 10, "MB") }'`, 60_000);
    expect(hog.stdout).toMatch(/^refused at \d+ MB/);
  });

  it("runs every command below the server's CPU priority, and no command can raise it", async () => {
    const own = (await run("nice")).stdout.trim();
    // The sandbox's niceness (10), above the server's own (os.getPriority answers the nice value).
    expect(Number(own)).toBe(10);
    expect(getPriority()).toBeLessThan(10);
    const raised = await run("nice -n -5 nice 2>&1; renice -n 0 -p $$ 2>&1; nice");
    expect(raised.stdout.split("\n").at(-2)).toBe(own);
    expect(raised.stdout).toMatch(/cannot set niceness|Permission denied/);
    // A command it starts in the background inherits it too.
    expect((await run("sh -c 'nice' & wait")).stdout.trim()).toBe(own);
  });

  it("takes a sandbox up again after Kiln restarts: same files, a new boundary, its preview forwarded again", async () => {
    const root = join(base, "restart");
    const port = firstPort + 2;
    const first = await createLocalProvider({ root, portRange: [port, port], log: silent, killGraceMs: 500 });
    const kept = await first.create({ workspaceId: "wsp_restart", projectId: "prj_restart" });
    expect(await serve(first, kept.id, port, "before")).toBe("before");
    await first.close();
    const second = await createLocalProvider({ root, portRange: [port, port], log: silent, killGraceMs: 500 });
    try {
      expect((await second.exec(kept.id, { command: "cat serve.js", timeoutMs: 10_000, maxOutputBytes: 1024 })).stdout).toContain('"before"');
      expect(await serve(second, kept.id, port, "again")).toBe("again");
    } finally {
      await second.close();
    }
  });

  it("leaves no process behind when a sandbox is deleted", async () => {
    const doomed = await provider.create({ workspaceId: "wsp_doomed", projectId: "prj_doomed" });
    const marker = `doomed-${randomBytes(6).toString("hex")}`;
    await provider.startProcess(doomed.id, { name: "sleeper", command: `exec -a ${marker} sleep 600` });
    const hostHas = async () => {
      for (const pid of (await readdir("/proc")).filter((name) => /^\d+$/.test(name))) {
        if ((await readFile(`/proc/${pid}/cmdline`, "utf8").catch(() => "")).includes(marker)) return true;
      }
      return false;
    };
    await waitFor("the sleeper", hostHas);
    await provider.delete(doomed.id);
    await waitFor("no sleeper", async () => !(await hostHas()));
    expect(existsSync(join(base, "data", doomed.id))).toBe(false);
  });
});
