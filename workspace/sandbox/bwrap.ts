import { constants } from "node:fs";
import { access, lstat, readlink, realpath } from "node:fs/promises";
import { delimiter, dirname, join, posix } from "node:path";

/** Where the project directory appears inside a bubblewrap sandbox (also its HOME). */
export const SANDBOX_PROJECT_DIR = "/workspace";
/** Where Kiln's own files (the toolbox) appear inside a sandbox, read-only. */
export const SANDBOX_KILN_DIR = "/opt/kiln";

/** Top-level system directories, bound read-only when they are directories, recreated when they are symlinks (merged /usr). */
const SYSTEM_ROOTS = ["/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32"];

/** The files of the host's /etc programs need: TLS roots, the dynamic linker, name service order, Debian's alternatives. Users, hosts and DNS are the sandbox's own. */
const ETC_ENTRIES = ["host.conf", "nsswitch.conf", "gai.conf", "localtime", "ld.so.cache", "ld.so.conf", "ld.so.conf.d", "ssl", "ca-certificates", "ca-certificates.conf", "alternatives"];

/** Device nodes a sandbox gets: no terminals (no devpts), no block or network devices. */
const DEVICES = ["null", "zero", "full", "random", "urandom", "tty"];

/** Sizes of the sandbox's memory-backed file systems: /tmp and /dev/shm would otherwise take the host's memory. */
const TMP_BYTES = 512 * 1024 * 1024;
const SHM_BYTES = 64 * 1024 * 1024;

/** The first executable called `program` on `searchPath`, or undefined. */
export async function findOnPath(program: string, searchPath = process.env.PATH ?? ""): Promise<string | undefined> {
  for (const dir of searchPath.split(delimiter).filter(Boolean)) {
    const candidate = join(dir, program);
    try {
      await access(candidate, constants.X_OK);
      return candidate;
    } catch {
      // not in this directory
    }
  }
  return undefined;
}

/** The installation prefix of the Node.js running Kiln (`/usr`, `/opt/node`, ...): its `bin` holds node, npm, npx. */
export async function nodePrefix(): Promise<string> {
  return dirname(dirname(await realpath(process.execPath)));
}

/**
 * The read-only view of the host every sandbox gets: /usr, the top-level library and binary directories,
 * a few files of /etc, and the Node.js installation when it lives outside /usr. Nothing else of the host
 * (its home, /root, /opt, the data directory, /var, /run, /proc, /sys) is there.
 */
export async function systemBinds(nodeInstall: string): Promise<string[]> {
  const args = ["--ro-bind", "/usr", "/usr"];
  for (const root of SYSTEM_ROOTS) {
    const stats = await lstat(root).catch(() => undefined);
    if (stats?.isSymbolicLink()) args.push("--symlink", await readlink(root), root);
    else if (stats?.isDirectory()) args.push("--ro-bind", root, root);
  }
  for (const entry of ETC_ENTRIES) args.push("--ro-bind-try", `/etc/${entry}`, `/etc/${entry}`);
  if (nodeInstall !== "/usr" && !nodeInstall.startsWith("/usr/")) args.push("--ro-bind", nodeInstall, nodeInstall);
  return args;
}

/** A file the sandbox sees read-only at `path`, its bytes handed to bwrap on a descriptor. */
export interface SandboxFile {
  path: string;
  content: Buffer;
}

/** One sandbox's bubblewrap: the system view, where its descriptors are, and the environment of its first process. */
export interface BwrapSandbox {
  system: string[];
  /** The descriptor of the open project directory, bound at {@link SANDBOX_PROJECT_DIR}. */
  projectFd: number;
  /** Descriptors of {@link SandboxFile}s in order, each with its path inside. */
  files: Array<{ fd: number; path: string }>;
  /** Host directories bound writable below the project (a dependency layer's merged view), each at `target` relative to it. */
  projectBinds: Array<{ source: string; target: string }>;
  hostname: string;
  env: Record<string, string>;
}

/**
 * bwrap's options for a sandbox: fresh namespaces for everything, the network included (a user-mode
 * stack is attached from outside: see slirp.ts), the project directory as the only writable path besides
 * a bounded /tmp, a fresh /proc, a minimal /dev without terminals, a read-only root, no inherited
 * environment, its own session (no terminal injection), death with the server, and its first process
 * reported on fd 3. No devpts also keeps bubblewrap to a single user namespace, which slirp4netns joins.
 * Passed on fd 4 (`--args 4`), so host paths stay out of its command line.
 */
export function bwrapOptions(sandbox: BwrapSandbox): string[] {
  const env = Object.entries(sandbox.env).flatMap(([name, value]) => ["--setenv", name, value]);
  const devices = DEVICES.flatMap((name) => ["--dev-bind", `/dev/${name}`, `/dev/${name}`]);
  return [
    ...sandbox.system,
    ...sandbox.files.flatMap((file) => ["--ro-bind-data", String(file.fd), file.path]),
    ...["--bind-fd", String(sandbox.projectFd), SANDBOX_PROJECT_DIR],
    ...sandbox.projectBinds.flatMap((bind) => ["--bind", bind.source, posix.join(SANDBOX_PROJECT_DIR, bind.target)]),
    ...["--size", String(TMP_BYTES), "--tmpfs", "/tmp", "--proc", "/proc", "--tmpfs", "/dev", ...devices],
    ...["--symlink", "/proc/self/fd", "/dev/fd", "--symlink", "/proc/self/fd/0", "/dev/stdin", "--symlink", "/proc/self/fd/1", "/dev/stdout"],
    ...["--symlink", "/proc/self/fd/2", "/dev/stderr", "--size", String(SHM_BYTES), "--tmpfs", "/dev/shm", "--remount-ro", "/"],
    ...["--unshare-all", "--hostname", sandbox.hostname, "--die-with-parent", "--new-session", "--info-fd", "3", "--clearenv"],
    ...env,
    ...["--chdir", SANDBOX_PROJECT_DIR],
  ];
}
