import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { describePath } from "../lib/paths";
import { openTestDatabase, type TestDatabase } from "../test/support/database";
import { HOSTILE_PATHS, namesRoot } from "../test/support/hostile-paths";
import { memoryLogger } from "../test/support/kiln";
import type { SandboxInfo, SandboxProvider } from "./sandbox/provider";
import { createWorkspaceService } from "./service";

const RUNNING: SandboxInfo = { id: "sbx_paths", state: "running", labels: {} };

/** A provider whose sandbox is always running and that records every other call it gets, with its arguments. */
function recordingProvider(calls: string[]): SandboxProvider {
  const answers: Record<string, unknown> = { readFiles: [], listFiles: [], startProcess: { processId: "proc_1" } };
  return new Proxy({} as SandboxProvider, {
    get(_target, key) {
      if (typeof key !== "string" || key === "then") return undefined;
      if (key === "name") return "local";
      if (key === "create" || key === "get") return async () => RUNNING;
      return async (_id: string, ...args: unknown[]) => {
        calls.push(`${key} ${JSON.stringify(args)}`);
        return answers[key];
      };
    },
  });
}

const { log } = memoryLogger("warn");
const calls: string[] = [];
let database: TestDatabase;
let service: ReturnType<typeof createWorkspaceService>;
let id: string;

beforeAll(async () => {
  database = await openTestDatabase("workspace");
  service = createWorkspaceService({ db: database.pool, provider: recordingProvider(calls), portRange: [20_000, 20_010], log });
  id = (await service.create({ projectId: "prj_paths" })).id;
  for (let i = 0; (await service.get({ id })).status !== "running"; i++) {
    if (i > 500) throw new Error("the workspace never ran");
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
});
afterAll(async () => {
  await database?.close();
});

describe("the workspace service's preview ports", () => {
  it("never hands out a port browsers and fetch refuse (4190, in the default range)", async () => {
    const ports = createWorkspaceService({ db: database.pool, provider: recordingProvider([]), portRange: [4189, 4191], log });
    const first = await ports.create({ projectId: "prj_port_a" });
    const second = await ports.create({ projectId: "prj_port_b" });
    expect([first.devPort, second.devPort]).toEqual([4189, 4191]);
    await expect(ports.create({ projectId: "prj_port_c" })).rejects.toMatchObject({ code: "resource_exhausted" });
  });
});

describe("the workspace service's path gate", () => {
  it.each(HOSTILE_PATHS)("refuses %s in every endpoint that takes a path or cwd, before the provider is asked", async (_why, path) => {
    calls.length = 0;
    const file = { path, contentBase64: "eA==" };
    const attempts: Array<[field: string, call: () => Promise<unknown>]> = [
      ["files[1].path", () => service.writeFiles({ id, files: [{ path: "fine.txt", contentBase64: "eA==" }, file] })],
      ["paths[1]", () => service.readFiles({ id, paths: ["fine.txt", path] })],
      ["paths[1]", () => service.deleteFiles({ id, paths: ["fine.txt", path] })],
      ["from", () => service.rename({ id, from: path, to: "fine.txt" })],
      ["to", () => service.rename({ id, from: "fine.txt", to: path })],
    ];
    if (!namesRoot(path)) {
      attempts.push(
        ["path", () => service.listFiles({ id, path })],
        ["cwd", () => service.exec({ id, command: "true", cwd: path })],
        ["cwd", () => service.startProcess({ id, name: "hostile", command: "true", cwd: path })],
        ["cwd", () => service.ensureDevServer({ id, command: "true", cwd: path })],
      );
    }
    for (const [field, call] of attempts) {
      await expect(call()).rejects.toMatchObject({ code: "invalid_argument", message: expect.stringContaining(`${field}: path ${describePath(path)} `) });
    }
    expect(calls).toEqual([]);
  });

  it("hands the provider each path normalised, the root as the empty path", async () => {
    calls.length = 0;
    await service.readFiles({ id, paths: ["./src//a.ts"] });
    await service.listFiles({ id, path: "." });
    await service.rename({ id, from: "src/./a.ts", to: "lib/a.ts/" });
    await service.exec({ id, command: "true", cwd: "./src/" });
    expect(calls.map((call) => call.replace(/,"env".*$/, ""))).toEqual([
      'readFiles [["src/a.ts"]]',
      'listFiles [{"path":"","recursive":true,"hashes":false}]',
      'rename ["src/a.ts","lib/a.ts"]',
      'exec [{"command":"true","cwd":"src"',
    ]);
  });
});
