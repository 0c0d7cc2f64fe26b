/**
 * Templates on Daytona: one snapshot per template version, holding the template's installed
 * dependencies where every sandbox's project is (`/root/project/node_modules`: `node:*` images run as
 * root), built on first use through the SDK's declarative image API and found again by its name (it
 * outlives Kiln). The template's files are not in it: each sandbox gets them in one upload, so a
 * template edit needs no rebuild.
 */
import { Image, type Daytona } from "@daytonaio/sdk";
import { createHash } from "node:crypto";
import { chmod, mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { AppError } from "../../lib/errors";
import { safeRelativePath, shellQuote } from "../../lib/paths";
import type { Logger } from "../../lib/log";
import { daytonaFailure, messageOf, retrying, statusOf, type RetryPolicy } from "./daytona-errors";
import { layoutOf } from "./daytona-scripts";
import { DEPENDENCY_DIR, DependencyCache, devCacheScript } from "./dependency-cache";
import type { SandboxTemplate } from "./provider";

/** The image template snapshots are built from: Node 20 on Debian (the scripts need GNU tools), run as root. */
export const TEMPLATE_IMAGE = "node:20-bookworm";
/** The home of {@link TEMPLATE_IMAGE}'s user, which the sandboxes made from it report. */
const IMAGE_HOME = "/root";
/** Changes whenever what a snapshot holds changes for the same template version. */
const RECIPE = "deps-only-1";
/** How much of a failed build's log its error quotes. */
const FAILURE_TAIL_CHARS = 3000;
/** The install's environment: no prompts, no update notices, no audit round trips. */
const INSTALL_ENV = "export CI=1 npm_config_update_notifier=false npm_config_audit=false npm_config_fund=false";
/** A free port for the dev server of a build, asked of the image's node (the build's network is its own; the fake's is this machine's). */
const FREE_PORT = `node -e 'const s = require("net").createServer().listen(0, "127.0.0.1", () => { process.stdout.write(String(s.address().port)); s.close(); })'`;

/**
 * The build's steps: the install where sandboxes keep the project; the dev server once until it has
 * written its cache (a template's `devCache`: Vite's pre-bundle, keyed by the project's path, the same in
 * every sandbox), which only logs when it fails; then everything but the dependencies removed.
 */
function buildSteps(template: SandboxTemplate & { install: string }): string[] {
  const steps = [`${INSTALL_ENV}; ${template.install} && test -d ${DEPENDENCY_DIR}`];
  if (template.devCache) {
    const packageJson = template.files.find((file) => file.path === "package.json")?.content.toString("utf8") ?? null;
    // A Dockerfile instruction is one line: the multi-line script goes in as base64.
    const script = Buffer.from(devCacheScript(template.devCache, packageJson)).toString("base64");
    steps.push(`export PORT=$(${FREE_PORT}); echo ${script} | base64 -d | sh || echo ${shellQuote(`kiln: the dev server left no cache to share (${template.devCache.until})`)}`);
  }
  steps.push(`find . -mindepth 1 -maxdepth 1 ! -name ${DEPENDENCY_DIR} -exec rm -rf -- {} +`);
  return steps;
}

/** How {@link TemplateSnapshots} waits. */
export interface TemplateSnapshotOptions {
  /** How long a snapshot may take to become active (its build included) before the create fails. */
  buildTimeoutMs: number;
  /** Between two reads of a snapshot someone else is building. */
  pollMs: number;
  retries: RetryPolicy;
  log: Logger;
}

/** The snapshot name of a template version: `kiln-tpl-<name>-<16 hex>`, from its dependency version, the image and the recipe. */
export function templateSnapshotName(template: SandboxTemplate): string {
  const entry = DependencyCache.entryName(template);
  const hash = createHash("sha256").update(`${entry}\0${TEMPLATE_IMAGE}\0${IMAGE_HOME}\0${RECIPE}`).digest("hex").slice(0, 16);
  return `kiln-tpl-${template.name}-${hash}`;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** The template snapshots of one Daytona organisation, as one provider uses them. */
export class TemplateSnapshots {
  /** Snapshots being made ready in this process, by name: concurrent creates of one template share one build. */
  private readonly pending = new Map<string, Promise<string>>();

  constructor(
    private readonly daytona: Daytona,
    private readonly options: TemplateSnapshotOptions,
  ) {}

  /**
   * The name of an active snapshot with `template`'s dependencies installed: an existing one (activated
   * if Daytona deactivated it), one being built (waited for), or a new build. A failed build fails with
   * the build's own words and is deleted, so the next create builds again.
   */
  ensure(template: SandboxTemplate): Promise<string> {
    const name = templateSnapshotName(template);
    let pending = this.pending.get(name);
    if (!pending) {
      pending = this.settle(template, name).finally(() => this.pending.delete(name));
      this.pending.set(name, pending);
    }
    return pending;
  }

  private async settle(template: SandboxTemplate, name: string): Promise<string> {
    const deadline = Date.now() + this.options.buildTimeoutMs;
    let watching = false;
    for (;;) {
      const found = await this.lookup(name);
      const state = found?.state;
      if (state === undefined) {
        if (await this.build(template, name, deadline)) return name;
      } else if (state === "active") {
        return name;
      } else if (state === "inactive") {
        await this.daytona.snapshot.activate(name).catch((err: unknown) => this.options.log.warn("activating a template snapshot failed", { snapshot: name, reason: messageOf(err) }));
      } else if (state === "error" || state === "build_failed") {
        if (watching) throw this.buildFailed(template, name, found?.errorReason ?? state, "");
        // Left by an earlier build (another Kiln, or one that died): its failure may be stale; build again.
        await this.remove(name);
      } else {
        watching ||= state !== "removing";
      }
      if (Date.now() >= deadline) {
        throw new AppError("deadline_exceeded", `Daytona: the snapshot ${name} of template ${template.name} was not ready within ${Math.round(this.options.buildTimeoutMs / 60_000)} minutes (it is ${state ?? "missing"})`);
      }
      await sleep(this.options.pollMs);
    }
  }

  /** The snapshot's state and reason, or undefined when there is none. */
  private async lookup(name: string): Promise<{ state: string; errorReason?: string | null } | undefined> {
    try {
      return await retrying(() => this.daytona.snapshot.get(name), this.options.retries);
    } catch (err) {
      if (statusOf(err) === 404) return undefined;
      throw daytonaFailure(err, `reading the template snapshot ${name}`);
    }
  }

  /**
   * Builds the snapshot ({@link buildSteps}) with the template's files as the build context. True once active; false when
   * the snapshot is to be waited for by reading it (another caller took the name first, or the SDK's
   * own wait broke off).
   */
  private async build(template: SandboxTemplate, name: string, deadline: number): Promise<boolean> {
    if (!template.install) throw new AppError("internal", `template ${template.name} installs nothing`);
    const { log } = this.options;
    const context = await mkdtemp(join(tmpdir(), "kiln-template-context-"));
    let tail = "";
    try {
      const source = join(context, "project");
      await mkdir(source);
      for (const file of template.files) {
        const path = join(source, safeRelativePath("files", file.path));
        await mkdir(dirname(path), { recursive: true });
        await writeFile(path, file.content);
        await chmod(path, file.mode ?? 0o644);
      }
      const { project } = layoutOf(IMAGE_HOME);
      const image = Image.base(TEMPLATE_IMAGE)
        .addLocalDir(source, project)
        .workdir(project)
        .runCommands(...buildSteps({ ...template, install: template.install }));
      const started = performance.now();
      log.info("building a template snapshot", { template: template.name, snapshot: name });
      const onLogs = (chunk: string) => {
        if (/^Creat(ing|ed) snapshot /.test(chunk)) return;
        tail = `${tail}${chunk}\n`.slice(-FAILURE_TAIL_CHARS);
      };
      const creating = this.daytona.snapshot.create({ name, image }, { onLogs, timeout: 120 });
      let timer: NodeJS.Timeout | undefined;
      const expired = new Promise<"expired">((resolve) => (timer = setTimeout(() => resolve("expired"), Math.max(0, deadline - Date.now()))));
      try {
        if ((await Promise.race([creating, expired])) === "expired") {
          // The SDK waits without end: removing the snapshot ends its wait (its next read is a 404).
          creating.catch(() => undefined);
          await this.remove(name);
          throw new AppError("deadline_exceeded", `Daytona: building the snapshot ${name} of template ${template.name} did not finish within ${Math.round(this.options.buildTimeoutMs / 60_000)} minutes`);
        }
      } catch (err) {
        if (err instanceof AppError) throw err;
        if (statusOf(err) === 409) return false;
        const failed = /^Failed to create snapshot\..*?Reason: ([\s\S]*)$/.exec(err instanceof Error ? err.message : "");
        if (!failed) {
          // The SDK gives up its wait at the first failed read (a 502 on one poll): a build under way is waited for by reading it here.
          const status = statusOf(err);
          if ((status === undefined || status >= 500) && (await this.lookup(name).catch(() => undefined))) {
            log.warn("waiting for a template snapshot after the SDK's wait failed", { snapshot: name, reason: messageOf(err) });
            return false;
          }
          throw daytonaFailure(err, `building the snapshot ${name} of template ${template.name}`);
        }
        await this.remove(name);
        throw this.buildFailed(template, name, failed[1]!, tail);
      } finally {
        clearTimeout(timer);
      }
      log.info("template snapshot built", { template: template.name, snapshot: name, seconds: ((performance.now() - started) / 1000).toFixed(1) });
      return true;
    } finally {
      await rm(context, { recursive: true, force: true }).catch(() => undefined);
    }
  }

  private buildFailed(template: SandboxTemplate, name: string, reason: string, tail: string): AppError {
    this.options.log.warn("template snapshot failed to build", { template: template.name, snapshot: name, reason });
    const output = tail.trim() ? `; its last output: ${tail.trim()}` : "";
    return new AppError("failed_precondition", `Daytona: building the snapshot ${name} of template ${template.name} (${template.install}) failed: ${reason.trim()}${output}`);
  }

  /** Deletes a snapshot that failed or was given up on; best effort (the next build waits out its removal). */
  private async remove(name: string): Promise<void> {
    await this.daytona.snapshot.delete(name).catch((err: unknown) => {
      if (statusOf(err) !== 404) this.options.log.warn("deleting a template snapshot failed", { snapshot: name, reason: messageOf(err) });
    });
  }
}
