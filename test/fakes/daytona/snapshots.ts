/**
 * Snapshots of the fake control plane (`/api/snapshots...`), built from a declarative image as real
 * Daytona builds them (notes/daytona-real.md): the SDK uploads each build context as a tar to object
 * storage (`GET /api/object-storage/push-access`, then S3's ListObjectsV2 and PutObject, served here
 * under `/s3`) and posts the Dockerfile with the contexts' hashes; the snapshot waits `pending` for a
 * runner, is `building` while its steps run, and ends `active` or `build_failed` with the builder's one
 * line as `errorReason` (the commands' own words are in the build log, streamed from
 * `build-logs-url`). A build is real: its files land in a local sandbox's directory standing for the
 * image's file system and its RUN commands run there, on this machine, with HOME and the working
 * directory below it. A sandbox created from an active snapshot starts with a copy of that file system.
 */
import { execFile } from "node:child_process";
import { randomUUID } from "node:crypto";
import { cp, mkdir, mkdtemp, rm, stat } from "node:fs/promises";
import type { ServerResponse } from "node:http";
import { tmpdir } from "node:os";
import { join, posix } from "node:path";
import { promisify } from "node:util";
import { DAY_MS, json, type Reply } from "./daemon";
import { homeIn, imageOf, type FakeImage } from "./image";
import { apiError } from "./lifecycle";
import type { FakeContext } from "./state";

const run = promisify(execFile);

/** Real Daytona's rule for snapshot names. */
const SNAPSHOT_NAME = /^[a-zA-Z0-9_.\-:]+(\/[a-zA-Z0-9_.\-:]+)*(@sha256:[a-f0-9]{64})?$/;
const ORGANIZATION = "org-fake";
const BUCKET = "daytona-volume-builds";
const TERMINAL = new Set(["active", "error", "build_failed", "inactive"]);

/** One snapshot of the fake. */
export interface FakeSnapshot {
  id: string;
  name: string;
  state: string;
  errorReason: string | null;
  /** The image it was pulled from, or the FROM of its Dockerfile. */
  base: string;
  image: FakeImage;
  dockerfile?: string;
  contextHashes: string[];
  /** The directory holding the built file system (a local sandbox's), once the build began. */
  root?: string;
  localId?: string;
  /** The build's log so far. */
  log: string;
  /** GETs a deleted snapshot still answers `removing` before 404. */
  removingPolls: number;
  /** GETs that saw it `building`. */
  buildingReads: number;
  /** How the build ended, held back until enough GETs saw it building. */
  outcome?: { state: string; errorReason: string | null };
  createdAt: string;
  updatedAt: string;
}

/** One-shot snapshot faults the tests arm. */
export interface SnapshotFaults {
  /** The next build ends in this state with this reason before running any step (a runner's failure, not the Dockerfile's). */
  nextBuildFailure?: { state: string; errorReason: string };
  /** The next GET of a snapshot that is building answers this 5xx. */
  nextBuildingPollFailure?: number;
}

/** Docker's words for a shell-form RUN that failed. */
function runFailure(command: string, code: number | null): string {
  return `The command '/bin/sh -c ${command}' returned a non-zero code: ${code ?? 137}`;
}

/** A Dockerfile as instructions, continuation lines joined and comments dropped. */
function instructions(dockerfile: string): Array<{ op: string; args: string }> {
  return dockerfile
    .replace(/\\\r?\n/g, " ")
    .split(/\r?\n/)
    .map((line) => line.trim())
    .filter((line) => line !== "" && !line.startsWith("#"))
    .map((line) => {
      const [op, ...rest] = line.split(/\s+/);
      return { op: op!.toUpperCase(), args: line.slice(op!.length).trim() };
    });
}

/** The words of an instruction, shell-quoted as the SDK's `shell-quote` writes them. */
function words(args: string): string[] {
  return [...args.matchAll(/'((?:[^'])*)'|"((?:\\.|[^"])*)"|(\S+)/g)].map((match) => match[1] ?? match[2]?.replace(/\\(.)/g, "$1") ?? match[3]!.replace(/\\(.)/g, "$1"));
}

/** The fake's snapshots, their builds, and the object storage build contexts go to. */
export class FakeSnapshots {
  readonly faults: SnapshotFaults = {};
  private readonly byId = new Map<string, FakeSnapshot>();
  /** Object storage: key → bytes. */
  private readonly objects = new Map<string, Buffer>();
  private readonly listeners = new Map<string, Set<() => void>>();
  private readonly accessKey = `AKFAKE${Math.random().toString(36).slice(2, 10).toUpperCase()}`;

  constructor(
    private readonly ctx: FakeContext,
    private readonly baseUrl: () => string,
  ) {}

  /** The snapshot with this id or name. */
  find(idOrName: string): FakeSnapshot | undefined {
    return this.byId.get(idOrName) ?? [...this.byId.values()].find((snapshot) => snapshot.name === idOrName);
  }

  /** Every snapshot, oldest first. */
  all(): FakeSnapshot[] {
    return [...this.byId.values()];
  }

  private json(snapshot: FakeSnapshot): Record<string, unknown> {
    return {
      id: snapshot.id,
      organizationId: ORGANIZATION,
      general: false,
      name: snapshot.name,
      imageName: snapshot.dockerfile ? undefined : snapshot.base,
      state: snapshot.state,
      size: snapshot.state === "active" ? 0.5 : null,
      entrypoint: ["sleep", "infinity"],
      cpu: 1,
      gpu: 0,
      mem: 1,
      disk: 3,
      errorReason: snapshot.errorReason,
      createdAt: snapshot.createdAt,
      updatedAt: snapshot.updatedAt,
      lastUsedAt: null,
      buildInfo: snapshot.dockerfile ? { dockerfileContent: snapshot.dockerfile, contextHashes: snapshot.contextHashes } : undefined,
      regionIds: ["us"],
      sourceSandboxId: null,
    };
  }

  private setState(snapshot: FakeSnapshot, state: string, errorReason: string | null = null): void {
    snapshot.state = state;
    snapshot.errorReason = errorReason;
    snapshot.outcome = undefined;
    snapshot.updatedAt = new Date().toISOString();
    this.notify(snapshot);
  }

  private append(snapshot: FakeSnapshot, text: string): void {
    snapshot.log += text;
    this.notify(snapshot);
  }

  private notify(snapshot: FakeSnapshot): void {
    for (const listener of this.listeners.get(snapshot.id) ?? []) listener();
  }

  /** `/api/object-storage/...` and `/api/snapshots...`; undefined for other paths. */
  async route(method: string, parts: string[], query: URLSearchParams, body: Buffer): Promise<Reply | undefined> {
    if (parts[0] === "object-storage" && parts[1] === "push-access" && method === "GET") {
      return {
        status: 200,
        json: { accessKey: this.accessKey, secret: "fake-secret", sessionToken: "fake-session", storageUrl: `${this.baseUrl()}/s3`, organizationId: ORGANIZATION, bucket: BUCKET, region: "us-east-1" },
      };
    }
    if (parts[0] !== "snapshots") return undefined;
    if (parts.length === 1 && method === "POST") return this.create(json(body));
    if (parts.length === 1 && method === "GET") {
      const page = Math.max(1, Number(query.get("page") ?? 1));
      const limit = Math.max(1, Number(query.get("limit") ?? 10));
      const name = query.get("name")?.toLowerCase();
      const matching = this.all().filter((snapshot) => !name || snapshot.name.toLowerCase().includes(name));
      return { status: 200, json: { items: matching.slice((page - 1) * limit, page * limit).map((s) => this.json(s)), total: matching.length, page, totalPages: Math.ceil(matching.length / limit) } };
    }
    const idOrName = decodeURIComponent(parts[1] ?? "");
    const snapshot = this.find(idOrName);
    if (!snapshot) return apiError(404, `Snapshot ${idOrName} not found`);
    const action = parts.slice(2).join("/");
    if (method === "GET" && action === "") {
      if (snapshot.state === "removing" && --snapshot.removingPolls < 0) {
        this.forget(snapshot);
        return apiError(404, `Snapshot ${idOrName} not found`);
      }
      const failure = this.faults.nextBuildingPollFailure;
      if (failure !== undefined && snapshot.state === "building") {
        this.faults.nextBuildingPollFailure = undefined;
        return { status: failure, json: { statusCode: failure, message: `fake Daytona: injected ${failure} on a snapshot poll`, error: "Bad Gateway" } };
      }
      if (snapshot.outcome && snapshot.buildingReads >= this.ctx.realism.snapshotBuildingPolls) this.setState(snapshot, snapshot.outcome.state, snapshot.outcome.errorReason);
      if (snapshot.state === "building" || snapshot.state === "pulling") snapshot.buildingReads += 1;
      return { status: 200, json: this.json(snapshot) };
    }
    if (method === "GET" && action === "build-logs-url") return { status: 200, json: { url: `${this.baseUrl()}/snapshot-logs/${snapshot.id}` } };
    if (method === "DELETE" && action === "") {
      if (this.ctx.realism.snapshotRemovingPolls > 0) {
        snapshot.removingPolls = this.ctx.realism.snapshotRemovingPolls;
        this.setState(snapshot, "removing");
      } else this.forget(snapshot);
      return { status: 200 };
    }
    if (method === "POST" && action === "activate") {
      if (snapshot.state === "active") return apiError(400, `Snapshot ${snapshot.id} is already active`);
      if (snapshot.state !== "inactive") return apiError(400, `Snapshot ${snapshot.id} cannot be activated - it is in ${snapshot.state} state`);
      this.setState(snapshot, "active");
      return { status: 200, json: this.json(snapshot) };
    }
    return apiError(404, `Cannot ${method} /api/snapshots/${parts.slice(1).join("/")}`);
  }

  private forget(snapshot: FakeSnapshot): void {
    this.byId.delete(snapshot.id);
    if (snapshot.localId) void this.ctx.local.delete(snapshot.localId).catch(() => undefined);
    this.notify(snapshot);
  }

  private create(body: Record<string, unknown>): Reply {
    const name = typeof body.name === "string" ? body.name : "";
    if (!SNAPSHOT_NAME.test(name)) return apiError(400, "Invalid snapshot name format. May contain letters, digits, dots, colons, and dashes");
    if (this.find(name)) return apiError(409, `Snapshot with name "${name}" already exists for this organization`);
    const buildInfo = body.buildInfo as { dockerfileContent?: unknown; contextHashes?: unknown } | undefined;
    const dockerfile = typeof buildInfo?.dockerfileContent === "string" ? buildInfo.dockerfileContent : undefined;
    const imageName = typeof body.imageName === "string" ? body.imageName : undefined;
    if (!dockerfile && !imageName) return apiError(400, "Must specify an image name");
    const base = dockerfile ? (words(instructions(dockerfile).find((step) => step.op === "FROM")?.args ?? "")[0] ?? "") : imageName!;
    const now = new Date().toISOString();
    const snapshot: FakeSnapshot = {
      id: randomUUID(),
      name,
      state: "pending",
      errorReason: null,
      base,
      image: imageOf(base),
      dockerfile,
      contextHashes: Array.isArray(buildInfo?.contextHashes) ? buildInfo.contextHashes.map(String) : [],
      log: "",
      removingPolls: 0,
      buildingReads: 0,
      createdAt: now,
      updatedAt: now,
    };
    this.byId.set(snapshot.id, snapshot);
    void this.build(snapshot).catch((err: Error) => this.finish(snapshot, "error", err.message));
    return { status: 200, json: this.json(snapshot) };
  }

  /** Ends a build: at once, or at the GET after enough saw it building (real builds take minutes: a poller sees them build). */
  private finish(snapshot: FakeSnapshot, state: string, errorReason: string | null = null): void {
    if ((snapshot.state === "building" || snapshot.state === "pulling") && snapshot.buildingReads < this.ctx.realism.snapshotBuildingPolls) snapshot.outcome = { state, errorReason };
    else this.setState(snapshot, state, errorReason);
  }

  /** Waits for a runner, then runs the Dockerfile's steps in a directory of its own. */
  private async build(snapshot: FakeSnapshot): Promise<void> {
    await new Promise((resolve) => setTimeout(resolve, this.ctx.realism.snapshotPendingMs));
    // A Dockerfile is built; an image name is pulled.
    this.setState(snapshot, snapshot.dockerfile ? "building" : "pulling");
    const failure = this.faults.nextBuildFailure;
    this.faults.nextBuildFailure = undefined;
    if (failure) return this.finish(snapshot, failure.state, failure.errorReason);
    const info = await this.ctx.local.create({ workspaceId: "daytona-fake-build", projectId: snapshot.id });
    snapshot.localId = info.id;
    snapshot.root = (await this.ctx.local.exec(info.id, { command: 'printf %s "$HOME"', timeoutMs: 10_000, maxOutputBytes: 4096 })).stdout;
    const home = homeIn(snapshot.root, snapshot.image);
    await mkdir(home, { recursive: true });
    if (!snapshot.dockerfile) return this.finish(snapshot, "active");
    const context = await mkdtemp(join(tmpdir(), "kiln-fake-context-"));
    try {
      for (const hash of snapshot.contextHashes) {
        const tar = this.objects.get(`${ORGANIZATION}/${hash}/context.tar`);
        if (!tar) return this.finish(snapshot, "build_failed", `build context ${hash} is not in object storage`);
        await new Promise<void>((resolve, reject) => {
          const child = execFile("tar", ["-x", "-C", context], (err) => (err ? reject(err) : resolve()));
          child.stdin!.end(tar);
        });
      }
      const steps = instructions(snapshot.dockerfile);
      const env: Record<string, string> = {};
      let workdir = snapshot.image.user === "root" ? "/root" : `/home/${snapshot.image.user}`;
      const inImage = (path: string) => join(snapshot.root!, posix.resolve(workdir, path));
      for (const [index, step] of steps.entries()) {
        this.append(snapshot, `Step ${index + 1}/${steps.length} : ${step.op} ${step.args}\n`);
        const failed = await this.step(snapshot, step, { context, env, inImage, setWorkdir: (dir) => (workdir = posix.resolve(workdir, dir)), home, workdir: () => workdir });
        if (failed) {
          this.append(snapshot, `${failed}\n`);
          return this.finish(snapshot, "build_failed", failed);
        }
      }
      this.append(snapshot, `Successfully built ${snapshot.id.slice(0, 12)}\n`);
      await this.ctx.local.stop(info.id).catch(() => undefined);
      this.finish(snapshot, "active");
    } finally {
      await rm(context, { recursive: true, force: true });
    }
  }

  /** Runs one step; the builder's one-line failure, or undefined. */
  private async step(
    snapshot: FakeSnapshot,
    step: { op: string; args: string },
    build: { context: string; env: Record<string, string>; inImage: (path: string) => string; setWorkdir: (dir: string) => void; home: string; workdir: () => string },
  ): Promise<string | undefined> {
    switch (step.op) {
      case "FROM":
      case "ENTRYPOINT":
      case "CMD":
        return undefined;
      case "WORKDIR":
        build.setWorkdir(words(step.args)[0] ?? "/");
        await mkdir(build.inImage("."), { recursive: true });
        return undefined;
      case "ENV":
        for (const pair of words(step.args)) {
          const at = pair.indexOf("=");
          if (at > 0) build.env[pair.slice(0, at)] = pair.slice(at + 1);
        }
        return undefined;
      case "COPY": {
        const [source, destination] = words(step.args);
        const from = join(build.context, posix.normalize(`/${source ?? ""}`));
        const found = await stat(from).catch(() => undefined);
        if (!found || !destination) return `COPY failed: file not found in build context or excluded by .dockerignore: stat ${source}: file does not exist`;
        const to = build.inImage(destination);
        if (found.isDirectory()) {
          await mkdir(to, { recursive: true });
          await cp(`${from}/`, to, { recursive: true, verbatimSymlinks: true });
        } else await cp(from, destination.endsWith("/") ? join(to, posix.basename(source!)) : to);
        return undefined;
      }
      case "RUN": {
        const command = step.args.startsWith("[") ? (JSON.parse(step.args) as string[]).join(" ") : step.args;
        // The fake runs RUN on this machine, below the sandbox's directory: an absolute path of the image would be this machine's.
        const imagePath = snapshot.image.user === "root" ? "/root" : `/home/${snapshot.image.user}`;
        if (new RegExp(`(^|[\\s'"=:])${imagePath}(/|\\s|$)`).test(command)) {
          return `fake Daytona runs RUN commands on this machine and cannot map the absolute path ${imagePath} in ${JSON.stringify(command)}: use WORKDIR and relative paths`;
        }
        const result = await this.ctx.local.exec(snapshot.localId!, {
          command,
          cwd: posix.relative(snapshot.root!, build.inImage(".")),
          env: { ...build.env, HOME: build.home },
          timeoutMs: DAY_MS,
          maxOutputBytes: 4 * 1024 * 1024,
        });
        this.append(snapshot, result.output);
        if (result.exitCode !== 0) return runFailure(command, result.exitCode);
        return undefined;
      }
      default:
        return `fake Daytona does not build ${step.op} instructions`;
    }
  }

  /** Copies an active snapshot's file system into a new sandbox's directory. */
  async seed(snapshot: FakeSnapshot, root: string): Promise<void> {
    await run("cp", ["-a", "--reflink=auto", `${snapshot.root}/.`, root]);
  }

  /** `/s3/<bucket>/...`: ListObjectsV2 and PutObject, with the push-access key. */
  objectStorage(method: string, path: string, query: URLSearchParams, body: Buffer, authorization: string | undefined): Reply {
    const xml = (status: number, text: string): Reply => ({ status, body: Buffer.from(`<?xml version="1.0" encoding="UTF-8"?>\n${text}`), contentType: "application/xml" });
    if (!authorization?.includes(`Credential=${this.accessKey}/`)) return xml(403, "<Error><Code>InvalidAccessKeyId</Code><Message>The AWS Access Key Id you provided does not exist in our records.</Message></Error>");
    const [bucket, ...key] = path.split("/").filter(Boolean);
    if (bucket !== BUCKET) return xml(404, "<Error><Code>NoSuchBucket</Code><Message>The specified bucket does not exist</Message></Error>");
    if (method === "GET" && query.get("list-type") === "2") {
      const prefix = query.get("prefix") ?? "";
      const keys = [...this.objects.keys()].filter((each) => each.startsWith(prefix)).slice(0, Number(query.get("max-keys") ?? 1000));
      const contents = keys.map((each) => `<Contents><Key>${each}</Key><Size>${this.objects.get(each)!.length}</Size></Contents>`).join("");
      return xml(200, `<ListBucketResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><Name>${BUCKET}</Name><Prefix>${prefix}</Prefix><KeyCount>${keys.length}</KeyCount><MaxKeys>1</MaxKeys><IsTruncated>false</IsTruncated>${contents}</ListBucketResult>`);
    }
    if (method === "PUT" && key.length > 0 && !query.has("uploadId")) {
      this.objects.set(decodeURIComponent(key.join("/")), body);
      return { status: 200, json: undefined, body: Buffer.alloc(0) };
    }
    return xml(501, `<Error><Code>NotImplemented</Code><Message>fake object storage serves ListObjectsV2 and PutObject only (not ${method} ${path})</Message></Error>`);
  }

  /** `GET /snapshot-logs/<id>?follow=true`: the build log so far, then as it grows, until the build ends. */
  streamLogs(id: string, res: ServerResponse): void {
    const snapshot = this.byId.get(id);
    if (!snapshot) {
      res.writeHead(404, { "content-type": "application/json" }).end(JSON.stringify({ statusCode: 404, message: `Snapshot ${id} not found` }));
      return;
    }
    res.writeHead(200, { "content-type": "text/plain; charset=utf-8" });
    let sent = 0;
    const flush = () => {
      if (snapshot.log.length > sent) res.write(snapshot.log.slice(sent));
      sent = snapshot.log.length;
      if (TERMINAL.has(snapshot.state) || !this.byId.has(id)) {
        this.listeners.get(id)?.delete(flush);
        res.end();
      }
    };
    if (!this.listeners.has(id)) this.listeners.set(id, new Set());
    this.listeners.get(id)!.add(flush);
    res.on("close", () => this.listeners.get(id)?.delete(flush));
    flush();
  }

  /** Marks a snapshot inactive, as Daytona does after 14 days unused. */
  deactivate(name: string): void {
    const snapshot = this.find(name);
    if (!snapshot) throw new Error(`fake Daytona has no snapshot ${name}`);
    this.setState(snapshot, "inactive");
  }
}
