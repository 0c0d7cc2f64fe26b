import { chmod, mkdtemp, realpath } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { missingIsolationPrograms, type Isolation } from "../../workspace/sandbox/boundary";

/** What of bubblewrap and slirp4netns this machine lacks, or undefined when the isolation suite can run whole. */
export const MISSING_ISOLATION = await missingIsolationPrograms();

const noted = new Set<string>();

/** Prints, once per test file and case, what a test does instead on a machine without the programs, and what runs it whole. */
export function noteMissingIsolation(what: string, instead = "asserting the fail-closed refusal instead"): void {
  if (!MISSING_ISOLATION || noted.has(what)) return;
  noted.add(what);
  process.stdout.write(
    `[kiln tests] ${what}: ${MISSING_ISOLATION}; ${instead}. ` + "Run the full isolation suite with: apt-get install -y bubblewrap slirp4netns && npm test\n",
  );
}

/**
 * The isolation for tests whose sandbox code is Kiln's own scripted sessions: bubblewrap where this
 * machine has it, else the explicit unconfined opt-in, said on the test output.
 */
export function scriptedSessionIsolation(what: string): Isolation {
  if (!MISSING_ISOLATION) return "bubblewrap";
  noteMissingIsolation(what, "it runs our own scripted sandbox code unconfined (KILN_SANDBOX_ISOLATION=none)");
  return "none";
}

/** Runs `start` with a PATH on which neither bwrap nor slirp4netns (nor anything else) is found, as on a machine without them. */
export async function withoutIsolationPrograms<T>(start: () => Promise<T>): Promise<T> {
  const saved = process.env.PATH;
  process.env.PATH = await mkdtemp(join(tmpdir(), "kiln-no-programs-"));
  try {
    return await start();
  } finally {
    process.env.PATH = saved;
  }
}

/**
 * A new temporary directory others may search (mkdtemp's are 0700): with a host uid per sandbox,
 * bubblewrap mounts a project as that uid, so every directory above a data directory must be searchable.
 */
export async function searchableTempDir(prefix: string): Promise<string> {
  const dir = await realpath(await mkdtemp(join(tmpdir(), prefix)));
  await chmod(dir, 0o755);
  return dir;
}
