import { execFileSync } from "node:child_process";
import { chmod, mkdtemp, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { shellQuote } from "../../../lib/paths";

/** What a sandbox's image decides: the user the daemon runs as (and so its home), and its tools. */
export interface FakeImage {
  /** `daytona` in Daytona's own snapshots, `root` in `node:*` images. */
  user: string;
  /** GNU tools (find -printf, sha256sum -z, mv -T, setsid -w, date +%N); false: busybox's, which refuse those options. */
  gnu: boolean;
}

/**
 * The image of a snapshot name, as real images are: Daytona's default snapshot runs as `daytona`, the
 * Docker Hub `node:*` images as root, and Alpine-based ones have busybox instead of GNU tools.
 */
export function imageOf(snapshot: string | undefined): FakeImage {
  const name = snapshot ?? "";
  const alpine = /alpine/i.test(name);
  const root = alpine || /^(docker\.io\/)?(library\/)?node(:|$)/.test(name);
  return { user: root ? "root" : "daytona", gnu: !alpine };
}

/** The home of the image's user below a sandbox's file system root. */
export function homeIn(root: string, image: FakeImage): string {
  return image.user === "root" ? join(root, "root") : join(root, "home", image.user);
}

/** The GNU-only options busybox lacks, per tool: a shim refuses them as busybox would. */
const GNU_ONLY: Record<string, string[]> = {
  find: ["-printf"],
  sha256sum: ["-z"],
  mv: ["-T", "-fT"],
  setsid: ["-w"],
  date: ["+%s%N", "+%N"],
};

/** A directory of shims that make GNU tools refuse their GNU-only options (for images with `gnu: false`). */
export async function busyboxShims(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), "kiln-fake-busybox-"));
  for (const [tool, options] of Object.entries(GNU_ONLY)) {
    const real = execFileSync("bash", ["-c", `command -v ${tool}`], { encoding: "utf8" }).trim();
    const refuse = options.map((option) => `[ "$a" = ${shellQuote(option)} ] && { echo "${tool}: unrecognized option: $a" >&2; exit 1; }`).join("; ");
    await writeFile(join(dir, tool), `#!/bin/sh\nfor a in "$@"; do ${refuse}; done\nexec ${shellQuote(real)} "$@"\n`);
    await chmod(join(dir, tool), 0o755);
  }
  return dir;
}
