import { randomBytes } from "node:crypto";
import { chmod, chown, lstat, mkdir, rename, rm } from "node:fs/promises";
import { join } from "node:path";
import { AppError } from "../../lib/errors";
import { errorFields, type Logger } from "../../lib/log";
import { shellQuote } from "../../lib/paths";
import { devLaunch } from "../dev-launch";
import { openSandbox, type Boundary, type LiveSandbox } from "./boundary";
import type { SandboxTemplate } from "./provider";
import { runCommand } from "./run-command";
import { SandboxFiles } from "./sandbox-files";

/** How long one template's installation may take (a cold `npm ci` of Expo is minutes on a slow link). */
const INSTALL_TIMEOUT_MS = 20 * 60_000;
const INSTALL_OUTPUT_BYTES = 200_000;
/** The end of a failed install's output that its error quotes. */
const FAILURE_TAIL_CHARS = 3000;
/** The directory an installation leaves, and the one each sandbox of it sees. */
export const DEPENDENCY_DIR = "node_modules";

/** The environment of an installation: no prompts, no update notices, no audit round trips. */
const INSTALL_ENV = { CI: "1", npm_config_update_notifier: "false", npm_config_audit: "false", npm_config_fund: "false" };
/** How long the dev server of an installation may take to write its cache (Vite: under a second). */
const DEV_CACHE_TIMEOUT_SECONDS = 60;
/** The port the dev server of an installation listens on, inside the installation's own network. */
const DEV_CACHE_PORT = "5173";

/**
 * The shell script that runs `devCache.command` in the background until it has written `devCache.until`,
 * then ends it with SIGTERM (so it removes its own lock files) and fails when the file never came.
 */
export function devCacheScript(devCache: NonNullable<SandboxTemplate["devCache"]>, packageJson: string | null): string {
  const until = shellQuote(devCache.until);
  return [
    `(${devLaunch(devCache.command, packageJson)}) >/dev/null 2>&1 & dev=$!`,
    `i=0; until [ -f ${until} ] || [ $i -ge ${DEV_CACHE_TIMEOUT_SECONDS * 10} ] || ! kill -0 $dev 2>/dev/null; do sleep 0.1; i=$((i + 1)); done`,
    `kill $dev 2>/dev/null; wait $dev; [ -f ${until} ]`,
  ].join("\n");
}

/**
 * Installed template dependencies on this machine: each `dependencyVersion` is installed once, inside a
 * sandbox of its own (the same boundary as any project: the install scripts of the registry's packages
 * are as untrusted as the agent's code), into `<root>/<name>-<version>/node_modules`, and never changed
 * afterwards. Sandboxes see it as the read-only lower layer of their own node_modules (or get a copy
 * where the boundary cannot mount layers). `root` is Kiln's alone: no sandbox ever sees its path.
 */
export class DependencyCache {
  /** Installations under way in this process, by entry name: concurrent creates of one template share one. */
  private readonly installing = new Map<string, Promise<string>>();

  constructor(
    private readonly root: string,
    private readonly boundary: Boundary,
    private readonly sandboxUid: () => number | undefined,
    private readonly log: Logger,
  ) {}

  /** The name of a template version's entry: what a sandbox record keeps. */
  static entryName(template: SandboxTemplate): string {
    // Both parts become a directory name under the cache: nothing but a plain name and hex digits.
    if (!/^[a-z0-9][a-z0-9-]{0,39}$/.test(template.name)) throw new AppError("invalid_argument", `template name ${JSON.stringify(template.name)} is not a template's name`);
    if (!template.dependencyVersion || !/^[0-9a-f]{8,64}$/.test(template.dependencyVersion)) {
      throw new AppError("invalid_argument", `template ${template.name} has no dependency version`);
    }
    return `${template.name}-${template.dependencyVersion}`;
  }

  /** The installed dependencies of an entry, whether or not they are there. */
  location(entry: string): string {
    return join(this.root, entry, DEPENDENCY_DIR);
  }

  /** Whether an entry is installed. */
  async has(entry: string): Promise<boolean> {
    return (await lstat(this.location(entry)).catch(() => undefined))?.isDirectory() === true;
  }

  /** The installed dependencies of `template`, installed now when they are not yet. */
  async ensure(template: SandboxTemplate): Promise<string> {
    const entry = DependencyCache.entryName(template);
    if (await this.has(entry)) return this.location(entry);
    let pending = this.installing.get(entry);
    if (!pending) {
      pending = this.install(template, entry).finally(() => this.installing.delete(entry));
      this.installing.set(entry, pending);
    }
    return pending;
  }

  private async install(template: SandboxTemplate, entry: string): Promise<string> {
    if (!template.install) throw new AppError("internal", `template ${template.name} installs nothing`);
    // Sandbox uids reach the installation's project through here; nothing else below is theirs to see.
    await mkdir(this.root, { recursive: true, mode: 0o711 });
    await chmod(this.root, 0o711);
    const scratch = join(this.root, `.install-${entry}-${randomBytes(4).toString("hex")}`);
    const uid = this.sandboxUid();
    const place = { id: `tpl-${entry}`, projectDir: join(scratch, "project"), runDir: join(scratch, "run"), uid };
    await mkdir(scratch, { mode: 0o755 });
    await mkdir(place.projectDir, { mode: 0o700 });
    await mkdir(place.runDir, { mode: 0o700 });
    if (uid !== undefined) await chown(place.projectDir, uid, uid);
    const started = performance.now();
    this.log.info("installing template dependencies", { template: template.name, entry });
    let live: LiveSandbox | undefined;
    try {
      live = await openSandbox(this.boundary, place, this.log);
      await new SandboxFiles(live.toolbox, Number.MAX_SAFE_INTEGER).write(template.files);
      const sandbox = live;
      const run = (command: string, env: Record<string, string>) =>
        runCommand((onOutput) => sandbox.toolbox.run(sandbox.command(command, "", { ...INSTALL_ENV, ...env }), onOutput), { timeoutMs: INSTALL_TIMEOUT_MS, maxOutputBytes: INSTALL_OUTPUT_BYTES });
      const result = await run(template.install, {});
      if (result.exitCode !== 0) {
        const why = result.timedOut ? `did not finish within ${INSTALL_TIMEOUT_MS / 60_000} minutes` : `failed (exit ${result.exitCode})`;
        throw new AppError("failed_precondition", `installing the dependencies of template ${template.name} (${template.install}) ${why}: ${result.output.slice(-FAILURE_TAIL_CHARS).trim()}`);
      }
      if (template.devCache) {
        const packageJson = template.files.find((file) => file.path === "package.json")?.content.toString("utf8") ?? null;
        const warmed = await run(devCacheScript(template.devCache, packageJson), { PORT: DEV_CACHE_PORT });
        // Without it each workspace's dev server prepares its own cache: slower first page, never broken.
        if (warmed.exitCode !== 0) this.log.warn("the template's dev server left no cache to share", { template: template.name, until: template.devCache.until });
      }
      // Each sandbox's layer must be writable where it copies up: the entry is opened to every user, inside a directory only Kiln reaches.
      const opened = await run(`chmod -R a+rwX ${DEPENDENCY_DIR}`, {});
      if (opened.exitCode !== 0) throw new AppError("failed_precondition", `installing template ${template.name}: chmod of ${DEPENDENCY_DIR} failed: ${opened.output.slice(-FAILURE_TAIL_CHARS).trim()}`);
      await live.close();
      live = undefined;
      // Every process of the installation is gone: what it left is checked before it becomes a layer.
      const installed = join(place.projectDir, DEPENDENCY_DIR);
      if (!(await lstat(installed).catch(() => undefined))?.isDirectory()) {
        throw new AppError("failed_precondition", `installing template ${template.name} left no ${DEPENDENCY_DIR} directory`);
      }
      const staged = join(scratch, "entry");
      await mkdir(staged, { mode: 0o700 });
      await rename(installed, join(staged, DEPENDENCY_DIR));
      try {
        await rename(staged, join(this.root, entry));
      } catch (err) {
        // Another process installed the same version meanwhile: theirs serves, ours goes.
        if (!(await this.has(entry))) throw err;
      }
      const seconds = ((performance.now() - started) / 1000).toFixed(1);
      this.log.info("template dependencies installed", { template: template.name, entry, seconds });
      return this.location(entry);
    } catch (err) {
      this.log.warn("template dependencies failed to install", { template: template.name, entry, ...errorFields(err) });
      throw err;
    } finally {
      await live?.close().catch(() => undefined);
      await rm(scratch, { recursive: true, force: true }).catch(() => undefined);
    }
  }
}
