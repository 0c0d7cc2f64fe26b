import { spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { readdir, readFile, rm, stat } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { findRoot, ROOT } from "../lib/root";
import { startTestMongo, type TestMongo } from "../test/support/mongo";
import { searchableTempDir } from "../test/support/isolation";
import { buildPrograms, DIST, PROGRAMS, startFlags } from "./build";

/** Runs a built program with `env` until it exits or prints a line matching `until`. */
function run(file: string, env: Record<string, string>, until?: RegExp) {
  const child = spawn(process.execPath, [...startFlags(), file], { cwd: tmpdir(), env: { PATH: process.env.PATH!, HOME: process.env.HOME!, ...env }, stdio: ["ignore", "pipe", "pipe"] });
  let output = "";
  const exited = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)));
  const matched = new Promise<string>((resolve, reject) => {
    for (const stream of [child.stdout!, child.stderr!]) {
      createInterface({ input: stream }).on("line", (line) => {
        output += `${line}\n`;
        if (until?.test(line)) resolve(line);
      });
    }
    void exited.then((code) => reject(new Error(`${file} exited with ${code}: ${output.slice(-2000)}`)));
  });
  matched.catch(() => undefined);
  return { child, exited, matched, output: () => output };
}

describe("npm run build: the standalone programs as plain JavaScript", () => {
  const outdir = join(DIST, `test-${process.pid}-${randomBytes(3).toString("hex")}`);
  let built: Record<string, string>;
  let mongo: TestMongo;
  let dataDir: string;

  beforeAll(async () => {
    built = await buildPrograms(PROGRAMS, outdir);
    mongo = await startTestMongo();
    dataDir = await searchableTempDir("kiln-build-test-");
  }, 60_000);
  afterAll(async () => {
    await rm(outdir, { recursive: true, force: true });
    await rm(dataDir, { recursive: true, force: true });
    await mongo?.close();
  });

  it("keeps the Daytona SDK out of what the server loads unless the Daytona provider is chosen", async () => {
    const files = [...(await readdir(outdir)), ...(await readdir(join(outdir, "chunks"))).map((name) => `chunks/${name}`)].filter((name) => name.endsWith(".js"));
    const importers = [];
    for (const name of files) if ((await readFile(join(outdir, name), "utf8")).includes('from "@daytonaio/sdk"')) importers.push(name);
    expect(importers).toHaveLength(1);
    expect(importers[0]).toMatch(/^chunks\/daytona-\w+\.js$/);
  });

  it("runs on Node alone from any working directory: finds its migrations and templates, answers, and stops on SIGTERM", async () => {
    const server = run(built.main!, { PORT: "0", HOST: "127.0.0.1", KILN_DATA_DIR: dataDir, ANTHROPIC_API_KEY: "sk-build-test", MONGODB_URI: mongo.uri, KILN_MONGODB_DATABASE: mongo.databaseName, KILN_WARM_POOL: "0", KILN_SANDBOX_ISOLATION: "none", LOG_LEVEL: "info" }, /kiln is listening/);
    try {
      const { url } = JSON.parse(await server.matched) as { url: string };
      const health = await fetch(`${url}/healthz`);
      expect(health.status).toBe(200);
      // The local user's token, printed once on the console.
      const token = /^\s+(\S{20,})$/m.exec(server.output())?.[1];
      expect(token).toBeTruthy();
      const templates = (await (await fetch(`${url}/templates`, { headers: { authorization: `Bearer ${token}` } })).json()) as { templates: { name: string }[] };
      expect(templates.templates.map((t) => t.name)).toContain("vite-react");
    } finally {
      server.child.kill("SIGTERM");
    }
    expect(await server.exited).toBe(0);
  }, 60_000);

  it("refuses to start without ANTHROPIC_API_KEY, saying so", async () => {
    const server = run(built.main!, { KILN_DATA_DIR: dataDir, MONGODB_URI: mongo.uri });
    expect(await server.exited).toBe(1);
    expect(server.output()).toContain("ANTHROPIC_API_KEY is not set");
  }, 30_000);

  it("rebuilds without touching what did not change, and leaves no partial file", async () => {
    const before = (await stat(built.main!)).mtimeMs;
    await buildPrograms(PROGRAMS, outdir);
    expect((await stat(built.main!)).mtimeMs).toBe(before);
    const all = [...(await readdir(outdir)), ...(await readdir(join(outdir, "chunks")))];
    expect(all.filter((name) => name.includes(".partial"))).toEqual([]);
  });

  it("is built only inside Kiln's root, which the built code finds by walking up", async () => {
    await expect(buildPrograms(PROGRAMS, join(tmpdir(), "kiln-elsewhere"))).rejects.toThrow(/must stay inside/);
    expect(findRoot(join(outdir, "chunks"))).toBe(ROOT);
    expect(() => findRoot(tmpdir())).toThrow(/no package.json named "kiln"/);
  });
});
