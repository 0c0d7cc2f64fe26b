import { constants } from "node:fs";
import { access, lstat, readlink, realpath } from "node:fs/promises";
import { delimiter, dirname, join } from "node:path";

/** Where the project directory appears inside a bubblewrap sandbox (also its HOME). */
export const SANDBOX_PROJECT_DIR = "/workspace";

/** Top-level system directories, bound read-only when they are directories, recreated when they are symlinks (merged /usr). */
const SYSTEM_ROOTS = ["/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32"];

/** The few files of /etc that programs need: name resolution, users, TLS roots, the dynamic linker, Debian's alternatives. */
const ETC_ENTRIES = [
  "resolv.conf",
  "hosts",
  "host.conf",
  "nsswitch.conf",
  "gai.conf",
  "passwd",
  "group",
  "localtime",
  "ld.so.cache",
  "ld.so.conf",
  "ld.so.conf.d",
  "ssl",
  "ca-certificates",
  "ca-certificates.conf",
  "alternatives",
];

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
 * a minimal /etc, and the Node.js installation when it lives outside /usr. Nothing else of the host
 * (its home, /root, /opt, the data directory, /var, /run) is there.
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

/** One bubblewrap sandbox: the system view, the project, the working directory inside and the whole environment. */
export interface BwrapSandbox {
  system: string[];
  projectDir: string;
  /** Absolute, below {@link SANDBOX_PROJECT_DIR}. */
  cwd: string;
  env: Record<string, string>;
}

/**
 * bwrap's options for one command: fresh namespaces for everything but the network (dev servers listen
 * on the host's loopback, npm needs the registry), the project directory as the only writable path, a
 * fresh /tmp, /proc and /dev, a read-only root, no inherited environment, its own session (no terminal
 * injection), death with the server, and the sandbox's pid reported on fd 3 (so it can be killed whole).
 * Passed on fd 4 (`--args 4`), so host paths and environment values stay out of /proc/<pid>/cmdline,
 * which every process of the sandbox can read.
 */
export function bwrapOptions(sandbox: BwrapSandbox): string[] {
  const env = Object.entries(sandbox.env).flatMap(([name, value]) => ["--setenv", name, value]);
  return [
    ...sandbox.system,
    ...["--bind", sandbox.projectDir, SANDBOX_PROJECT_DIR],
    ...["--tmpfs", "/tmp", "--proc", "/proc", "--dev", "/dev", "--remount-ro", "/"],
    ...["--unshare-all", "--share-net", "--die-with-parent", "--new-session", "--info-fd", "3", "--clearenv"],
    ...env,
    ...["--chdir", sandbox.cwd],
  ];
}
