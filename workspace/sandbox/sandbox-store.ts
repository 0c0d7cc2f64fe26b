import { randomBytes } from "node:crypto";
import { mkdir, readdir, readFile, rename, rm, writeFile } from "node:fs/promises";
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
  createdAt: string;
  updatedAt: string;
}

/**
 * Local sandboxes on disk: `<root>/<id>/sandbox.json` (state and labels, replaced atomically) beside
 * `<root>/<id>/project` (the files). Survives a restart of the process; ids that are not of the local
 * shape never reach the file system.
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

  /** A new, running sandbox: its directory and its record. */
  async create(labels: Record<string, string>): Promise<SandboxRecord> {
    const id = newId("sbx");
    await mkdir(this.projectDir(id), { recursive: true });
    const now = new Date().toISOString();
    const record: SandboxRecord = { id, state: "running", labels, createdAt: now, updatedAt: now };
    await this.save(record);
    return record;
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

/** What a caller of the provider sees of a record. */
export function infoOf(record: SandboxRecord): SandboxInfo {
  return { id: record.id, state: record.state, labels: record.labels };
}
