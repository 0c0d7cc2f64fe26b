import { createHash } from "node:crypto";
import { existsSync } from "node:fs";
import { lstat, mkdir, mkdtemp, readdir, readFile, realpath, rm, symlink, writeFile } from "node:fs/promises";
import { homedir, tmpdir } from "node:os";
import { join, relative } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Logger } from "../../lib/log";
import { shellQuote } from "../../lib/paths";
import { createLocalProvider, type LocalProviderOptions } from "./local";
import type { ExecRequest, SandboxInfo, SandboxProvider } from "./provider";
import { MISSING_ISOLATION, scriptedSessionIsolation, searchableTempDir } from "../../test/support/isolation";
import { reservePort } from "../../test/support/ports";
import { describeProviderSuite, expectNoSurvivor, processesWith, sleepMarker, waitFor, type ProviderHarness } from "./provider-suite";

const base = await searchableTempDir("kiln-local-sandbox-");
const outside = join(base, "outside");
await mkdir(outside);
await writeFile(join(outside, "secret.txt"), "outside secret");
afterAll(async () => {
  await rm(base, { recursive: true, force: true });
});

/** A logger that keeps what it was told. */
function recordingLogger(): { log: Logger; lines: Array<{ level: string; message: string; fields?: Record<string, unknown> }> } {
  const lines: Array<{ level: string; message: string; fields?: Record<string, unknown> }> = [];
  const line = (level: string) => (message: string, fields?: Record<string, unknown>) => void lines.push({ level, message, fields });
  const log: Logger = { debug: line("debug"), info: line("info"), warn: line("warn"), error: line("error"), child: () => log };
  return { log, lines };
}

/** Runs `fn` with secrets set in the server's environment the way a deployment would, then puts it back. */
async function withServerSecrets(fn: () => Promise<void>): Promise<void> {
  const secrets = { ANTHROPIC_API_KEY: "sk-ant-kiln-test-secret", DATABASE_URL: "postgres://kiln:pw-secret@db/kiln" };
  const saved = Object.fromEntries(Object.keys(secrets).map((name) => [name, process.env[name]]));
  Object.assign(process.env, secrets);
  try {
    await fn();
  } finally {
    for (const [name, value] of Object.entries(saved)) {
      if (value === undefined) delete process.env[name];
      else process.env[name] = value;
    }
  }
}

/** Names, kinds and content digests of everything below `base` except sandboxes' project directories. */
async function fingerprint(dir = base): Promise<string> {
  const lines: string[] = [];
  for (const entry of (await readdir(dir, { withFileTypes: true })).sort((a, b) => a.name.localeCompare(b.name))) {
    const full = join(dir, entry.name);
    if (entry.isDirectory() && entry.name === "project") continue;
    if (entry.isDirectory()) lines.push(`${relative(base, full)}/`, await fingerprint(full));
    else if (entry.isFile()) lines.push(`${relative(base, full)} ${createHash("sha256").update(await readFile(full)).digest("hex")}`);
    else lines.push(`${relative(base, full)} -> ${entry.isSymbolicLink() ? "link" : "other"}`);
  }
  return lines.join("\n");
}

let roots = 0;
/** A local provider on a fresh data directory inside this file's temp dir. */
async function makeLocal(options: Partial<LocalProviderOptions> = {}): Promise<ProviderHarness & { root: string; lines: Array<{ level: string; message: string }> }> {
  const root = join(base, `data-${++roots}`);
  const devPort = await reservePort();
  const { log, lines } = recordingLogger();
  const provider = await createLocalProvider({ root, portRange: [devPort, devPort], log, killGraceMs: 500, ...options });
  return { provider, devPort, root, lines, outsideFingerprint: () => fingerprint(), cleanup: () => provider.close() };
}

describeProviderSuite("local, unconfined (explicit opt-in)", () => makeLocal({ isolation: "none" }));

// Needs Debian's bubblewrap and slirp4netns (.ci/run installs them): without them isolation.test.ts asserts the refusal.
describe.skipIf(MISSING_ISOLATION !== undefined)("with bubblewrap", () => {
  describeProviderSuite("local, bubblewrap", () => makeLocal({ isolation: "bubblewrap" }));

  describe("local sandbox isolated by bubblewrap", () => {
    let harness: Awaited<ReturnType<typeof makeLocal>>;
    let sandbox: SandboxInfo;
    const run = (command: string) => harness.provider.exec(sandbox.id, { command, timeoutMs: 20_000, maxOutputBytes: 64 * 1024 });

    beforeAll(async () => {
      harness = await makeLocal({ isolation: "bubblewrap" });
      sandbox = await harness.provider.create({ workspaceId: "wsp_iso", projectId: "prj_iso" });
    });
    afterAll(() => harness.provider.close());

    it("reports ok health and runs node in the project mounted at /workspace", async () => {
      expect(await harness.provider.health()).toMatchObject({ status: "ok" });
      // The one warning allowed: the kernel refusing a fresh namespace under load, and the retry it causes.
      const kernelRefusal = (line: { message: string; fields?: Record<string, unknown> }) =>
        line.message === "a sandbox's boundary failed to start; trying again" || (line.message === "sandbox toolbox stderr" && /RTM_NEWADDR/.test(String(line.fields?.text)));
      expect(harness.lines.filter((line) => line.level === "warn" && !kernelRefusal(line))).toEqual([]);
      expect((await run('pwd; echo "$HOME"; node -e "console.log(6 * 7)"')).stdout).toBe("/workspace\n/workspace\n42\n");
    });

    it("hides the host's home and the data directory", async () => {
      const home = await run(`ls -A ${shellQuote(homedir())}`);
      expect(home.exitCode).not.toBe(0);
      await writeFile(join(harness.root, "data-dir-secret.txt"), "data directory secret");
      const dataDir = await run(`cat ${shellQuote(join(harness.root, "data-dir-secret.txt"))}; cat ../sandbox.json; ls ${shellQuote(harness.root)}`);
      expect(dataDir.exitCode).not.toBe(0);
      expect(dataDir.output).not.toContain("data directory secret");
      expect(dataDir.output).not.toContain(sandbox.id);
      expect((await run(`cat ${shellQuote(join(outside, "secret.txt"))}`)).output).not.toContain("outside secret");
      expect((await run("cat /proc/*/cmdline")).output).not.toContain(harness.root);
    });

    it("shows nothing of the server's environment", async () => {
      await withServerSecrets(async () => {
        const env = await run("env");
        expect(env.exitCode).toBe(0);
        expect(env.output).not.toMatch(/ANTHROPIC|DATABASE_URL|sk-ant-kiln|pw-secret/);
        expect(env.output).toContain("HOME=/workspace");
      });
    });

    it("allows writing only inside the project", async () => {
      const escape = await run("echo x > /etc/kiln-escape; echo x > /root/kiln-escape; echo x > /kiln-escape; mkdir /usr/kiln-escape");
      expect(escape.stderr.match(/Read-only file system|No such file or directory/g)?.length).toBe(4);
      expect(existsSync("/etc/kiln-escape") || existsSync("/root/kiln-escape") || existsSync("/kiln-escape") || existsSync("/usr/kiln-escape")).toBe(false);
      expect((await run("echo ok > inside.txt && cat inside.txt")).stdout).toBe("ok\n");
      expect(await harness.provider.readFiles(sandbox.id, ["inside.txt"])).toEqual([{ path: "inside.txt", content: Buffer.from("ok\n") }]);
    });
  });
});

describe("local sandbox provider", () => {
  let harness: Awaited<ReturnType<typeof makeLocal>>;
  let provider: SandboxProvider;
  let sandbox: SandboxInfo;
  let projectDir: string;

  beforeAll(async () => {
    harness = await makeLocal({ isolation: "none", previewHost: "::1" });
    provider = harness.provider;
    sandbox = await provider.create({ workspaceId: "wsp_local", projectId: "prj_local" });
    projectDir = join(harness.root, sandbox.id, "project");
  });
  afterAll(() => provider.close());

  it("says loudly, at start and in health, that the explicit opt-in runs sandboxes unconfined", async () => {
    expect(await provider.health()).toMatchObject({ status: "warn", detail: expect.stringContaining("UNCONFINED (KILN_SANDBOX_ISOLATION=none)") });
    expect(harness.lines).toContainEqual({ level: "warn", message: expect.stringContaining("LOCAL SANDBOXES ARE UNCONFINED") });
  });

  it("clears the server's environment even unconfined", async () => {
    await withServerSecrets(async () => {
      const env = await provider.exec(sandbox.id, { command: "env", timeoutMs: 10_000, maxOutputBytes: 64 * 1024 });
      expect(env.output).not.toMatch(/ANTHROPIC|DATABASE_URL|sk-ant-kiln|pw-secret/);
      expect(env.output).toContain(`HOME=${projectDir}`);
    });
  });

  it("refuses paths that leave the project through symlinks, and never writes through one", async () => {
    await symlink(outside, join(projectDir, "dir-out"));
    await symlink(join(outside, "secret.txt"), join(projectDir, "file-out"));
    const before = await fingerprint();
    const refused: Array<() => Promise<unknown>> = [
      () => provider.readFiles(sandbox.id, ["file-out"]),
      () => provider.readFiles(sandbox.id, ["dir-out/secret.txt"]),
      () => provider.writeFiles(sandbox.id, [{ path: "dir-out/new.txt", content: Buffer.from("x") }]),
      () => provider.listFiles(sandbox.id, { path: "dir-out" }),
      () => provider.deletePaths(sandbox.id, ["dir-out/secret.txt"]),
      () => provider.rename(sandbox.id, "dir-out/secret.txt", "stolen.txt"),
      () => provider.exec(sandbox.id, { command: "touch x", cwd: "dir-out", timeoutMs: 1000, maxOutputBytes: 1024 }),
    ];
    for (const call of refused) await expect(call()).rejects.toMatchObject({ code: "invalid_argument", message: expect.stringContaining("outside the project root") });
    expect((await provider.listFiles(sandbox.id, {})).map((entry) => entry.path)).not.toContain("file-out");
    await provider.writeFiles(sandbox.id, [{ path: "file-out", content: Buffer.from("replaces the link") }]);
    expect((await lstat(join(projectDir, "file-out"))).isFile()).toBe(true);
    await provider.deletePaths(sandbox.id, ["dir-out"]);
    expect(existsSync(join(projectDir, "dir-out"))).toBe(false);
    expect(await fingerprint()).toBe(before);
  });

  it("answers gone for ids that are not its own and not_found when acting on them", async () => {
    for (const id of ["../../etc", "sbx_../../x", "", "/tmp", "sbx_00000000000000000000000000"]) {
      expect(await provider.get(id)).toMatchObject({ state: "gone" });
      await expect(provider.start(id)).rejects.toMatchObject({ code: "not_found" });
    }
  });

  it("keeps sandboxes across a restart of the provider", async () => {
    const again = await createLocalProvider({ root: harness.root, portRange: [harness.devPort, harness.devPort], log: recordingLogger().log, isolation: "none" });
    try {
      expect(await again.get(sandbox.id)).toMatchObject({ state: "running", labels: sandbox.labels });
      expect((await again.list()).map((info) => info.id)).toContain(sandbox.id);
    } finally {
      await again.close();
    }
  });

  it("gives preview URLs only for ports of its range, on the configured host", async () => {
    expect(await provider.previewUrl(sandbox.id, harness.devPort)).toEqual({ url: `http://[::1]:${harness.devPort}` });
    await expect(provider.previewUrl(sandbox.id, harness.devPort + 1)).rejects.toMatchObject({ code: "invalid_argument" });
  });

  it("has no preview links to revoke: the owner and the share gateway reach the same forwarded port, which stays", async () => {
    const shared = await provider.previewUrl(sandbox.id, harness.devPort, "share");
    expect(shared).toEqual(await provider.previewUrl(sandbox.id, harness.devPort));
    expect(await provider.revokePreviewLinks(sandbox.id, "share")).toEqual({ revoked: 0, pending: 0 });
    expect(await provider.previewUrl(sandbox.id, harness.devPort, "share")).toEqual(shared);
    await expect(provider.revokePreviewLinks("sbx_unknown", "share")).rejects.toMatchObject({ code: "not_found" });
  });

  it("checks commands and process names", async () => {
    const exec = (req: Partial<ExecRequest>) => provider.exec(sandbox.id, { command: "true", timeoutMs: 1000, maxOutputBytes: 1024, ...req });
    const bad: Array<Partial<ExecRequest>> = [{ command: "" }, { command: "a\0b" }, { timeoutMs: 0 }, { maxOutputBytes: -1 }, { env: { "BAD-NAME": "x" } }, { env: { OK: "a\0b" } }];
    for (const req of bad) {
      await expect(exec(req)).rejects.toMatchObject({ code: "invalid_argument" });
    }
    await expect(provider.startProcess(sandbox.id, { name: "../dev", command: "true" })).rejects.toMatchObject({ code: "invalid_argument" });
  });

  it("kills every process it started when closed", async () => {
    const closing = await makeLocal({ isolation: scriptedSessionIsolation("closing the local provider") });
    const box = await closing.provider.create({ workspaceId: "wsp_close", projectId: "prj_close" });
    const marker = sleepMarker();
    await closing.provider.startProcess(box.id, { name: "sleeper", command: `sleep ${marker}` });
    const running = closing.provider.exec(box.id, { command: `sleep ${marker}`, timeoutMs: 60_000, maxOutputBytes: 1024 });
    await waitFor("both processes", async () => (await processesWith(`sleep ${marker}`)).length >= 2);
    await closing.provider.close();
    expect(await running).toMatchObject({ exitCode: null });
    await expectNoSurvivor(marker);
    await expect(closing.provider.create({ workspaceId: "w", projectId: "p" })).rejects.toMatchObject({ code: "unavailable" });
  });
});
