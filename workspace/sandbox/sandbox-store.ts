import { randomBytes } from "node:crypto";
import { chown, lchown, lstat, mkdir, readdir, readFile, rename, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { newId } from "../../lib/ids";
import type { Logger } from "../../lib/log";
import type { SandboxInfo, SandboxState } from "./provider";

/** The shape of a local sandbox id: `sbx_` and 26 base32 characters (see lib/ids.ts). */
const LOCAL_ID = /^sbx_[0-9a-z]{26}$/;
const METADATA_FILE = "sandbox.json";

/** What the local provider remembers of a sandbox, in `<root>/<id>/sandbox.json`. */
export interface SandboxRecord {
  id: string;
  state: Exclude<SandboxState, "gone">;
  labels: Record<string, string>;
  /** The host uid the sandbox runs as, when it has one of its own (Kiln running as root). */
  uid?: number;
  /** Directories of the project seen through a shared installation (see dependency-cache.ts): where, and which entry. */
  layers?: Array<{ target: string; entry: string }>;
  createdAt: string;
  updatedAt: string;
}

/**
 * Local sandboxes on disk: `<root>/<id>/sandbox.json` (state and labels, replaced atomically) beside
 * `<root>/<id>/project` (the files, owned by the sandbox's uid: the only directory it can write) and
 * `<root>/<id>/run` (Kiln's own sockets, never seen by the sandbox) and `<root>/<id>/layers` (what the
 * sandbox changed of a shared layer, see {@link layerDir}). Survives a restart of the process;
 * ids that are not of the local shape never reach the file system.
 */
export class SandboxStore {
  constructor(
    private readonly root: string,
    private readonly log: Logger,
  ) {}

  /** Whether `id` has the shape of a local sandbox id. */
  static isId(id: unknown): id is string {
    return typeof id === "string" && LOCAL_ID.test(id);
  }

  /** The host directory of a sandbox's files. */
  projectDir(id: string): string {
    return join(this.root, id, "project");
  }

  /** The host directory of Kiln's own files for a sandbox (slirp4netns's API socket). */
  runDir(id: string): string {
    return join(this.root, id, "run");
  }

  /** The host directory of a layer of a sandbox: `upper` and `work` of its overlay, and `merged`, where it is mounted. */
  layerDir(id: string, target: string): string {
    return join(this.root, id, "layers", target);
  }

  /** A new, running sandbox: its directories and its record. */
  async create(labels: Record<string, string>, uid: number | undefined, layers?: SandboxRecord["layers"]): Promise<SandboxRecord> {
    const id = newId("sbx");
    await mkdir(join(this.root, id), { mode: 0o755 });
    await mkdir(this.projectDir(id), { mode: 0o700 });
    await mkdir(this.runDir(id), { mode: 0o700 });
    if (uid !== undefined) await chown(this.projectDir(id), uid, uid);
    const now = new Date().toISOString();
    const record: SandboxRecord = { id, state: "running", labels, uid, ...(layers?.length ? { layers } : {}), createdAt: now, updatedAt: now };
    await this.save(record);
    return record;
  }

  /**
   * Gives a sandbox made before it had a uid of its own that uid: its files change owner (symlinks
   * themselves, never what they point to). Only while none of its processes runs, so nothing races it.
   */
  async adopt(record: SandboxRecord, uid: number): Promise<SandboxRecord> {
    await chownTree(this.projectDir(record.id), uid);
    await mkdir(this.runDir(record.id), { recursive: true, mode: 0o700 });
    const next: SandboxRecord = { ...record, uid, updatedAt: new Date().toISOString() };
    await this.save(next);
    return next;
  }

  /** The record of `id`, or undefined when there is none (or `id` is not a local id). */
  async read(id: string): Promise<SandboxRecord | undefined> {
    if (!SandboxStore.isId(id)) return undefined;
    try {
      return JSON.parse(await readFile(join(this.root, id, METADATA_FILE), "utf8")) as SandboxRecord;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === "ENOENT") return undefined;
      throw err;
    }
  }

  /** Moves `record` to `state` and saves it. */
  async update(record: SandboxRecord, state: SandboxRecord["state"]): Promise<SandboxRecord> {
    const next: SandboxRecord = { ...record, state, updatedAt: new Date().toISOString() };
    await this.save(next);
    return next;
  }

  private async save(record: SandboxRecord): Promise<void> {
    const file = join(this.root, record.id, METADATA_FILE);
    const temporary = `${file}.${randomBytes(6).toString("hex")}`;
    await writeFile(temporary, JSON.stringify(record, null, 2));
    await rename(temporary, file);
  }

  /** Every sandbox on disk; an unreadable record is logged and skipped. */
  async list(): Promise<SandboxRecord[]> {
    const ids = (await readdir(this.root)).filter((name) => SandboxStore.isId(name)).sort();
    const records = await Promise.all(
      ids.map((id) =>
        this.read(id).catch((err: Error) => {
          this.log.warn("unreadable local sandbox record skipped", { sandboxId: id, reason: err.message });
          return undefined;
        }),
      ),
    );
    return records.filter((record): record is SandboxRecord => record !== undefined);
  }

  /** Removes a sandbox with its files: renamed away first, so it is gone at once even if removal is slow or fails. */
  async remove(id: string): Promise<void> {
    const trash = join(this.root, `.deleted-${id}-${randomBytes(4).toString("hex")}`);
    await rename(join(this.root, id), trash);
    await rm(trash, { recursive: true, force: true });
  }
}

/** Gives `path` and everything below it to `uid`: symlinks themselves, never what they point to. Only where no sandbox process runs. */
export async function chownTree(path: string, uid: number): Promise<void> {
  const stats = await lstat(path);
  await lchown(path, uid, uid);
  if (stats.isDirectory()) for (const name of await readdir(path)) await chownTree(join(path, name), uid);
}

/** What a caller of the provider sees of a record. */
export function infoOf(record: SandboxRecord): SandboxInfo {
  return { id: record.id, state: record.state, labels: record.labels };
}
