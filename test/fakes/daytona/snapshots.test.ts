import { Daytona, Image } from "@daytonaio/sdk";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { reservePort } from "../../support/ports";
import { silentLogger as quiet, startFakeDaytona, type FakeDaytona } from "./server";

/** Snapshots built from a declarative image, as the real SDK asks for them. */
describe("fake Daytona snapshots, driven by the real SDK", () => {
  let fake: FakeDaytona;
  let daytona: Daytona;
  let context: string;

  beforeAll(async () => {
    const port = await reservePort();
    fake = await startFakeDaytona({ previewPorts: [port, port], log: quiet, realism: { snapshotPendingMs: 50 } });
    daytona = new Daytona({ apiKey: fake.apiKey, apiUrl: fake.apiUrl, useDeprecatedPolling: true });
    context = await mkdtemp(join(tmpdir(), "kiln-snapshot-context-"));
    await writeFile(join(context, "package.json"), '{"name":"ctx"}\n');
  });
  afterAll(async () => {
    await daytona[Symbol.asyncDispose]();
    await fake.close();
    await rm(context, { recursive: true, force: true });
  });

  it("uploads the context to object storage, builds the image's steps (pending → building → active) and streams the build log", async () => {
    const image = Image.base("node:20-bookworm").addLocalDir(context, "/root/app").workdir("/root/app").runCommands("echo built by RUN > made.txt && cat package.json");
    const logs: string[] = [];
    const snapshot = await daytona.snapshot.create({ name: "kiln-test-ok", image }, { onLogs: (line) => logs.push(line) });
    expect(snapshot.state).toBe("active");
    const paths = fake.requests.map((request) => `${request.method} ${request.path}`);
    expect(paths).toEqual(expect.arrayContaining(["GET /api/object-storage/push-access", "POST /api/snapshots", `GET /snapshot-logs/${snapshot.id}`]));
    expect(paths.some((path) => /^PUT \/s3\/daytona-volume-builds\/org-fake\/[0-9a-f]{32}\/context\.tar$/.test(path))).toBe(true);
    expect(logs.join("\n")).toMatch(/Step 4\/4 : RUN echo built by RUN[\s\S]*\{"name":"ctx"\}/);
    expect(logs).toEqual(expect.arrayContaining(["Creating snapshot kiln-test-ok (pending)", "Created snapshot kiln-test-ok (active)"]));
    expect((await daytona.snapshot.get("kiln-test-ok")).state).toBe("active");
  });

  it("creates sandboxes whose file system holds what the image's steps made, as the image's user", async () => {
    const sandbox = await daytona.create({ snapshot: "kiln-test-ok" });
    const home = await sandbox.getUserHomeDir();
    expect(home).toMatch(/\/root$/);
    const made = await sandbox.process.executeCommand("cat made.txt package.json", `${home}/app`);
    expect(made.result).toBe('built by RUN\n{"name":"ctx"}\n');
    await sandbox.delete();
  });

  it("pulls a snapshot from an image name (pending → pulling → active), as the image's user", async () => {
    const states: string[] = [];
    await daytona.snapshot.create({ name: "kiln-test-pulled", image: "node:22-bookworm" }, { onLogs: (line) => states.push(line) });
    expect(states).toEqual(["Creating snapshot kiln-test-pulled (pending)", "Creating snapshot kiln-test-pulled (pulling)", "Created snapshot kiln-test-pulled (active)"]);
    const sandbox = await daytona.create({ snapshot: "kiln-test-pulled" });
    expect(await sandbox.getUserHomeDir()).toMatch(/\/root$/);
    await sandbox.delete();
  });

  it("refuses a second snapshot of the same name (409) and a sandbox from a snapshot that is not active (400)", async () => {
    await expect(daytona.snapshot.create({ name: "kiln-test-ok", image: "node:20-bookworm" })).rejects.toMatchObject({ statusCode: 409, message: expect.stringContaining("already exists") });
    fake.faults.deactivateSnapshot("kiln-test-ok");
    await expect(daytona.create({ snapshot: "kiln-test-ok" })).rejects.toMatchObject({ statusCode: 400, message: "Snapshot kiln-test-ok is inactive" });
    await daytona.snapshot.activate("kiln-test-ok");
    expect((await daytona.snapshot.get("kiln-test-ok")).state).toBe("active");
  });

  it("fails a build whose RUN fails as build_failed with docker's line, the command's own words in the log", async () => {
    const image = Image.base("node:20-bookworm").runCommands("echo npm ERR! no such package >&2; exit 3");
    const logs: string[] = [];
    await expect(daytona.snapshot.create({ name: "kiln-test-broken", image }, { onLogs: (line) => logs.push(line) })).rejects.toThrow(
      "Failed to create snapshot. Name: kiln-test-broken Reason: The command '/bin/sh -c echo npm ERR! no such package >&2; exit 3' returned a non-zero code: 3",
    );
    expect(fake.snapshot("kiln-test-broken")).toMatchObject({ state: "build_failed" });
    expect(logs.join("\n")).toContain("npm ERR! no such package");
  });

  it("fails a build the runner could not do (a fault) in error with the runner's reason", async () => {
    fake.faults.failNextSnapshotBuild("Timeout processing snapshot on initial runner");
    await expect(daytona.snapshot.create({ name: "kiln-test-runner", image: Image.base("node:20-bookworm") })).rejects.toThrow("Reason: Timeout processing snapshot on initial runner");
  });

  it("deletes softly: removing for a while, then 404, and the name is free again", async () => {
    await daytona.snapshot.delete("kiln-test-runner");
    expect((await daytona.snapshot.get("kiln-test-runner")).state).toBe("removing");
    await expect(daytona.snapshot.create({ name: "kiln-test-runner", image: "node:20-bookworm" })).rejects.toMatchObject({ statusCode: 409 });
    await daytona.snapshot.get("kiln-test-runner").catch(() => undefined);
    await expect(daytona.snapshot.get("kiln-test-runner")).rejects.toMatchObject({ statusCode: 404 });
    expect((await daytona.snapshot.create({ name: "kiln-test-runner", image: "node:20-bookworm" })).state).toBe("active");
    expect((await daytona.snapshot.list()).items.map((each) => each.name)).toEqual(expect.arrayContaining(["kiln-test-ok", "kiln-test-broken", "kiln-test-runner"]));
  });
});
