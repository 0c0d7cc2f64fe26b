import { constants } from "node:fs";
import { chmod, chown, mkdir, mkdtemp, open, readFile, rm, stat } from "node:fs/promises";
import { dirname, join, posix } from "node:path";
import { AppError } from "../../lib/errors";
import type { Logger } from "../../lib/log";
import { bwrapOptions, findOnPath, nodePrefix, SANDBOX_KILN_DIR, SANDBOX_PROJECT_DIR, systemBinds } from "./bwrap";
import { IGNORED_DIRECTORIES } from "./provider";
import { SANDBOX_NAMESERVER, SandboxNetwork } from "./slirp";
import { MAX_FRAME_BYTES, Toolbox, type RunRequest, type ToolboxSpawn } from "./toolbox-client";
import { rootPath } from "../../lib/root";

/** How local sandboxes are confined: `bubblewrap` (namespaces, own network) or `none` (explicit opt-in: unconfined). */
export type Isolation = "bubblewrap" | "none";

const STANDARD_PATH = ["/usr/local/sbin", "/usr/local/bin", "/usr/sbin", "/usr/bin", "/sbin", "/bin"];
const TOOLBOX_DIR = rootPath("workspace", "sandbox", "toolbox");
const TOOLBOX_FILES = ["toolbox.mjs", "frames.mjs"];
/** The uid of a sandbox's name inside (the host uid is the sandbox's own; see {@link Boundary.sandboxUid}). */
const SANDBOX_USER = "kiln";
/** Host uids handed to sandboxes when Kiln runs as root: one per sandbox, far from the system's users. */
const SANDBOX_UID_BASE = 200_000;
const SANDBOX_UID_SPAN = 1 << 20;

/** Per-command limits, set soft and hard before the command runs (it cannot raise them). */
export interface CommandLimits {
  /** Processes of the sandbox's user (only with a host uid of the sandbox's own). */
  processes?: number;
  /** Largest file a command may write, in 1 KiB blocks. */
  fileSizeBlocks: number;
  openFiles: number;
  /** Memory each process may allocate (RLIMIT_DATA, KiB): unlike an address-space limit it leaves WebAssembly's reservations alone. */
  dataKiB: number;
  /**
   * The CPU niceness of the whole sandbox (its toolbox sets it on itself before running anything, and
   * every command inherits it; without CAP_SYS_NICE nothing inside can lower it again), so a sandbox that
   * spins cannot starve Kiln's server of the machine's CPU.
   */
  niceness: number;
}

const DEFAULT_LIMITS: CommandLimits = { processes: 1024, fileSizeBlocks: 2 * 1024 * 1024, openFiles: 8192, dataKiB: 4 * 1024 * 1024, niceness: 10 };

/**
 * A directory of the project seen as an overlay: a shared read-only `lower` (installed dependencies),
 * the sandbox's own `upper` and `work` (what it changes), mounted at `merged` and bound at `target`.
 */
export interface SandboxLayer {
  /** Relative to the project root (`node_modules`). */
  target: string;
  lower: string;
  upper: string;
  work: string;
  merged: string;
}

/** Where a sandbox lives on the host: its project directory, a private directory for Kiln's own sockets, its host uid, its layers. */
export interface SandboxPlace {
  id: string;
  projectDir: string;
  runDir: string;
  uid?: number;
  /** Only for a boundary whose {@link Boundary.layers} is true. */
  layers?: SandboxLayer[];
}

/** A running sandbox: its toolbox, and the way its ports reach the host. */
export interface LiveSandbox {
  toolbox: Toolbox;
  /** What a command of this sandbox runs as: the whole environment and the working directory below the project. */
  command(command: string, cwd: string, env: Record<string, string>): RunRequest;
  /** Makes `port` of the sandbox reachable on the host's loopback (a no-op when unconfined: it listens there itself). */
  forward(port: number): Promise<void>;
  /** Ends every process of the sandbox and its network. */
  close(): Promise<void>;
}

/** A way of running sandboxes on this machine. */
export interface Boundary {
  readonly isolation: Isolation;
  /** What health reports about it. */
  readonly description: string;
  /** The host uid a new sandbox gets (its own one when Kiln runs as root), or undefined to keep Kiln's. */
  sandboxUid(taken: Set<number>): number | undefined;
  /** Whether sandboxes can have overlay {@link SandboxLayer}s (Kiln runs as root and util-linux is there); else layers are copied. */
  readonly layers: boolean;
  open(place: SandboxPlace, log: Logger): Promise<LiveSandbox>;
}

/** The environment a sandbox command starts from: nothing of the server's own, the TLS roots where the host names them. */
function baseEnvironment(home: string, nodeBin: string): Record<string, string> {
  const path = STANDARD_PATH.includes(nodeBin) ? STANDARD_PATH : [nodeBin, ...STANDARD_PATH];
  const env: Record<string, string> = { PATH: path.join(":"), HOME: home, USER: SANDBOX_USER, TERM: "dumb", LANG: "C.UTF-8" };
  const roots = process.env.NODE_EXTRA_CA_CERTS;
  if (roots && /^\/(etc\/ssl|usr)\/[A-Za-z0-9._/-]+$/.test(roots) && !roots.includes("..")) env.NODE_EXTRA_CA_CERTS = roots;
  return env;
}

async function toolboxSources(): Promise<Array<{ name: string; content: Buffer }>> {
  return Promise.all(TOOLBOX_FILES.map(async (name) => ({ name, content: await readFile(join(TOOLBOX_DIR, name)) })));
}

function toolboxConfig(root: string, isolation: Isolation, limits: CommandLimits, graceMs: number, bwrap?: string): string {
  return JSON.stringify({ root, isolation, bwrap, limits, graceMs, maxFrameBytes: MAX_FRAME_BYTES, ignoredDirectories: [...IGNORED_DIRECTORIES] });
}

function stderrLogger(log: Logger, sandboxId: string): (text: string) => void {
  return (text) => log.warn("sandbox toolbox stderr", { sandboxId, text });
}

/** Unconfined: the toolbox and its commands run on the host as Kiln's user, in the project directory. Only by explicit opt-in. */
async function unconfinedBoundary(graceMs: number): Promise<Boundary> {
  const nodeBin = `${await nodePrefix()}/bin`;
  return {
    isolation: "none",
    description: "UNCONFINED (KILN_SANDBOX_ISOLATION=none): generated code runs on this machine as Kiln's own user, with its network and files",
    sandboxUid: () => undefined,
    layers: false,
    async open(place, log) {
      const limits = { ...DEFAULT_LIMITS, processes: undefined };
      const toolbox = await Toolbox.start(
        {
          file: process.execPath,
          args: [join(TOOLBOX_DIR, "toolbox.mjs"), toolboxConfig(place.projectDir, "none", limits, graceMs)],
          cwd: place.projectDir,
          env: { PATH: STANDARD_PATH.join(":") },
          fds: [],
        },
        { graceMs, onStderr: stderrLogger(log, place.id) },
      );
      const env = baseEnvironment(place.projectDir, nodeBin);
      return {
        toolbox,
        command: (command, cwd, extra) => ({ command, cwd, env: { ...env, ...extra } }),
        forward: async () => {},
        close: () => toolbox.kill(),
      };
    },
  };
}

/** The sandbox's own /etc files: its user, its name, and slirp4netns's resolver. */
function etcFiles(uid: number, gid: number, hostname: string): Array<{ path: string; content: Buffer }> {
  return [
    { path: "/etc/passwd", content: Buffer.from(`${SANDBOX_USER}:x:${uid}:${gid}:Kiln sandbox:${SANDBOX_PROJECT_DIR}:/bin/bash\n`) },
    { path: "/etc/group", content: Buffer.from(`${SANDBOX_USER}:x:${gid}:\n`) },
    { path: "/etc/hostname", content: Buffer.from(`${hostname}\n`) },
    { path: "/etc/hosts", content: Buffer.from(`127.0.0.1 localhost ${hostname}\n::1 localhost\n`) },
    { path: "/etc/resolv.conf", content: Buffer.from(`nameserver ${SANDBOX_NAMESERVER}\n`) },
  ];
}

/**
 * Isolated: each sandbox is one bubblewrap instance (see bwrap.ts) whose first process is the toolbox,
 * with its own network through slirp4netns (see slirp.ts); when Kiln runs as root the sandbox runs as an
 * unprivileged host uid of its own. Commands get a pid namespace of their own inside it (toolbox.mjs).
 */
async function isolatedBoundary(bwrap: string, slirp: string, graceMs: number): Promise<Boundary> {
  const prefix = await nodePrefix();
  const mounter = process.getuid?.() === 0 ? await layerMounter() : undefined;
  const system = await systemBinds(prefix);
  const sources = await toolboxSources();
  const asRoot = process.getuid?.() === 0;
  const env = baseEnvironment(SANDBOX_PROJECT_DIR, `${prefix}/bin`);
  // The toolbox starts each command in a bubblewrap of its own: the same binary, seen inside.
  const bwrapInside = bwrap.startsWith("/usr/") ? bwrap : posix.join(SANDBOX_KILN_DIR, "bwrap");
  if (bwrapInside !== bwrap) system.push("--ro-bind", bwrap, bwrapInside);
  return {
    isolation: "bubblewrap",
    description: `isolated with bubblewrap (own namespaces and /proc${asRoot ? ", a host uid per sandbox" : ""}) and slirp4netns (own network, host loopback unreachable)`,
    layers: mounter !== undefined,
    sandboxUid(taken) {
      if (!asRoot) return undefined;
      for (;;) {
        const uid = SANDBOX_UID_BASE + Math.floor(Math.random() * SANDBOX_UID_SPAN);
        if (!taken.has(uid)) return uid;
      }
    },
    async open(place, log) {
      if (asRoot && place.uid === undefined) throw new AppError("internal", "a sandbox must not run as root: it has no uid of its own");
      const uid = place.uid ?? process.getuid?.() ?? 0;
      const limits = { ...DEFAULT_LIMITS, processes: place.uid === undefined ? undefined : DEFAULT_LIMITS.processes };
      const hostname = `kiln-${place.id.slice(-8)}`;
      const files = [
        ...sources.map((source) => ({ path: posix.join(SANDBOX_KILN_DIR, source.name), content: source.content })),
        ...etcFiles(uid, place.uid ?? process.getgid?.() ?? 0, hostname),
      ];
      const projectFd = await open(place.projectDir, constants.O_RDONLY | constants.O_DIRECTORY | constants.O_NOFOLLOW);
      let reportPid!: (pid: number | undefined) => void;
      const sandboxPid = new Promise<number | undefined>((resolve) => (reportPid = resolve));
      const layers = place.layers ?? [];
      if (layers.length > 0 && (!mounter || place.uid === undefined)) throw new AppError("internal", "this boundary cannot mount layers");
      const options = bwrapOptions({
        system,
        projectFd: 5,
        files: files.map((file, index) => ({ fd: 6 + index, path: file.path })),
        projectBinds: layers.map((layer) => ({ source: layer.merged, target: layer.target })),
        hostname,
        env: { PATH: env.PATH, HOME: SANDBOX_PROJECT_DIR },
      });
      const command = [bwrap, "--args", "4", "--", process.execPath, posix.join(SANDBOX_KILN_DIR, "toolbox.mjs"), toolboxConfig(SANDBOX_PROJECT_DIR, "bubblewrap", limits, graceMs, bwrapInside)];
      const launch = layers.length > 0 ? mounter!(place.uid!, layers, command) : { file: command[0]!, args: command.slice(1), uid: place.uid };
      const spawn: ToolboxSpawn = {
        file: launch.file,
        args: launch.args,
        cwd: "/",
        env: { PATH: STANDARD_PATH.join(":") },
        uid: launch.uid,
        gid: launch.uid,
        fds: [
          { pipe: (stream) => readChildPid(stream).then(reportPid) },
          { data: Buffer.from(options.map((arg) => `${arg}\0`).join("")) },
          { fd: projectFd.fd },
          ...files.map((file) => ({ data: file.content })),
        ],
      };
      let network: SandboxNetwork | undefined;
      const starting = Toolbox.start(spawn, { graceMs, onStderr: stderrLogger(log, place.id) });
      try {
        const attached = sandboxPid.then((pid) => {
          if (pid === undefined) throw new AppError("unavailable", "bubblewrap did not report the sandbox's process");
          // A socket left by a previous run of this sandbox (Kiln killed) would stop slirp4netns from listening.
          const apiSocket = join(place.runDir, "slirp.sock");
          return rm(apiSocket, { force: true }).then(() => SandboxNetwork.attach(slirp, pid, apiSocket, "127.0.0.1"));
        });
        const [toolbox, net] = await Promise.all([starting, attached.then((n) => (network = n))]);
        return {
          toolbox,
          command: (command, cwd, extra) => ({ command, cwd, env: { ...env, ...extra } }),
          forward: (port) => net.forward(port),
          async close() {
            await toolbox.kill();
            net.close();
          },
        };
      } catch (err) {
        network?.close();
        await starting.then((toolbox) => toolbox.kill(), () => undefined);
        throw err;
      } finally {
        await projectFd.close();
      }
    },
  };
}

/**
 * Mounts a sandbox's layers in a mount namespace of its own (so they vanish with it and the host never
 * sees them), then becomes the sandbox's uid and runs `command` (bubblewrap) there. Every value reaches
 * the shell as a positional argument, never as code. Undefined when util-linux's tools are missing.
 */
type LayerMounter = (uid: number, layers: SandboxLayer[], command: string[]) => { file: string; args: string[]; uid?: number };

const MOUNT_LAYERS = [
  'uid=$1; count=$2; shift 2',
  'while [ "$count" -gt 0 ]; do mount -t overlay kiln-layer -o "$1" "$2" || exit 70; shift 2; count=$((count - 1)); done',
  'exec setpriv --reuid="$uid" --regid="$uid" --clear-groups -- "$@"',
].join("\n");

/** Characters overlayfs's option string gives a meaning to: a layer path holding one cannot be mounted. */
const OVERLAY_SPECIAL = /[,:\\=\s]/;

async function layerMounter(): Promise<LayerMounter | undefined> {
  const [unshare, setpriv, mount] = await Promise.all([findOnPath("unshare"), findOnPath("setpriv"), findOnPath("mount")]);
  if (!unshare || !setpriv || !mount) return undefined;
  return (uid, layers, command) => {
    const mounts = layers.flatMap((layer) => {
      const paths = [layer.lower, layer.upper, layer.work];
      if (paths.some((path) => OVERLAY_SPECIAL.test(path))) throw new AppError("internal", `a layer path holds a character overlayfs cannot take: ${paths.join(" ")}`);
      return [`lowerdir=${layer.lower},upperdir=${layer.upper},workdir=${layer.work}`, layer.merged];
    });
    return { file: unshare, args: ["--mount", "--propagation", "private", "--", "/bin/sh", "-c", MOUNT_LAYERS, "kiln-layers", String(uid), String(layers.length), ...mounts, ...command] };
  };
}

/** Attempts at building a sandbox's boundary: the kernel now and then refuses a fresh namespace's setup (bwrap: "loopback: Failed RTM_NEWADDR"). */
const OPEN_ATTEMPTS = 6;

/** Opens a sandbox behind `boundary`, trying again when the kernel refused a fresh namespace. */
export async function openSandbox(boundary: Boundary, place: SandboxPlace, log: Logger): Promise<LiveSandbox> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await boundary.open(place, log);
    } catch (err) {
      if (attempt >= OPEN_ATTEMPTS || !(err instanceof AppError) || err.code !== "unavailable") throw err;
      log.warn("a sandbox's boundary failed to start; trying again", { sandboxId: place.id, attempt, reason: err.message });
      await new Promise((resolve) => setTimeout(resolve, 100 * attempt));
    }
  }
}

/** The first `child-pid` bwrap writes on its info descriptor, or undefined when it writes none. */
function readChildPid(info: NodeJS.ReadableStream): Promise<number | undefined> {
  return new Promise((resolve) => {
    let text = "";
    info.on("data", (chunk: Buffer) => {
      text += chunk.toString("utf8");
      try {
        const pid = (JSON.parse(text) as { "child-pid"?: unknown })["child-pid"];
        resolve(typeof pid === "number" ? pid : undefined);
      } catch {
        // not a whole JSON object yet
      }
    });
    info.once("close", () => resolve(undefined));
    info.once("error", () => resolve(undefined));
  });
}

/** The boundary asked for, or why local sandboxes must be refused: what is missing and what installs it. */
export type BoundaryChoice = { boundary: Boundary; refusal?: undefined } | { boundary?: undefined; refusal: string };

/** The words of a refusal, naming what is missing and the Debian packages that bring it. */
export function refusalText(problem: string): string {
  return (
    `local sandboxes are refused: ${problem}. Install the Debian packages bubblewrap and slirp4netns ` +
    "(apt-get install -y bubblewrap slirp4netns), or set KILN_SANDBOX_ISOLATION=none to run generated code unconfined on this machine"
  );
}

/** What of the boundary's programs is not installed on this machine (bwrap, slirp4netns), or undefined when both are. */
export async function missingIsolationPrograms(): Promise<string | undefined> {
  const [bwrap, slirp] = await Promise.all([findOnPath("bwrap"), findOnPath("slirp4netns")]);
  const missing = [!bwrap && "bubblewrap (bwrap) is not installed", !slirp && "slirp4netns is not installed"].filter(Boolean);
  return missing.length > 0 ? missing.join(" and ") : undefined;
}

/**
 * The boundary for `isolation`. `bubblewrap` needs bwrap and slirp4netns on PATH and a trial sandbox (files,
 * a command, its network) that works in `scratchRoot`; otherwise the choice is a refusal, never a weaker boundary.
 */
export async function chooseBoundary(isolation: Isolation, scratchRoot: string, graceMs: number, log: Logger): Promise<BoundaryChoice> {
  if (isolation === "none") return { boundary: await unconfinedBoundary(graceMs) };
  const missing = await missingIsolationPrograms();
  const [bwrap, slirp] = await Promise.all([findOnPath("bwrap"), findOnPath("slirp4netns")]);
  if (missing || !bwrap || !slirp) return { refusal: refusalText(missing ?? "bubblewrap or slirp4netns is not installed") };
  const boundary = await isolatedBoundary(bwrap, slirp, graceMs);
  const problem = (await unreachableAncestor(boundary, scratchRoot)) ?? (await trial(boundary, scratchRoot, log));
  return problem ? { refusal: refusalText(`a trial sandbox failed (${problem})`) } : { boundary };
}

/** With a uid per sandbox, bubblewrap mounts the project as that uid: every directory above it must be searchable by others. */
async function unreachableAncestor(boundary: Boundary, root: string): Promise<string | undefined> {
  if (boundary.sandboxUid(new Set()) === undefined) return undefined;
  for (let dir = root; ; dir = dirname(dir)) {
    if (((await stat(dir)).mode & 0o001) === 0) return `the data directory ${root} is out of the sandbox users' reach: ${dir} is not searchable by others (chmod o+x it, or choose another KILN_DATA_DIR)`;
    if (dir === dirname(dir)) return undefined;
  }
}

/** Why a trivial sandbox (a file written, a command run) fails under `boundary`, or undefined when it works. */
async function trial(boundary: Boundary, scratchRoot: string, log: Logger): Promise<string | undefined> {
  await mkdir(scratchRoot, { recursive: true });
  const dir = await mkdtemp(join(scratchRoot, ".trial-"));
  await chmod(dir, 0o755);
  const place: SandboxPlace = { id: "trial", projectDir: join(dir, "project"), runDir: join(dir, "run"), uid: boundary.sandboxUid(new Set()) };
  await mkdir(place.projectDir, { mode: 0o700 });
  await mkdir(place.runDir, { mode: 0o700 });
  if (place.uid !== undefined) await chown(place.projectDir, place.uid, place.uid);
  let live: LiveSandbox | undefined;
  try {
    live = await openSandbox(boundary, place, log);
    const output: Buffer[] = [];
    const run = await live.toolbox.run(live.command("echo ok > trial.txt && cat trial.txt", "", {}), (_stream, chunk) => output.push(chunk));
    const exit = await run.finished;
    const text = Buffer.concat(output).toString("utf8").trim();
    return exit.exitCode === 0 && text === "ok" ? undefined : text || `exit ${exit.exitCode}`;
  } catch (err) {
    return (err as Error).message;
  } finally {
    await live?.close().catch(() => undefined);
    await rm(dir, { recursive: true, force: true });
  }
}
