import { execFile } from "node:child_process";
import { existsSync, readFileSync, statSync } from "node:fs";
import { chmod, mkdtemp, rm, symlink, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { afterEach, describe, expect, it } from "vitest";

const run = promisify(execFile);
const root = fileURLToPath(new URL("..", import.meta.url));
const SCRIPT = join(root, "scripts", "encore-smoke.sh");
const BASH = "/bin/bash";
const secretsFile = join(root, ".secrets.local.cue");

let bin: string | undefined;
afterEach(async () => {
  if (bin) await rm(bin, { recursive: true, force: true });
  bin = undefined;
});

/** Runs the script with PATH holding only `programs` (links to this machine's), never a real `encore`. */
async function smoke(programs: Record<string, string | null>, args: string[] = []): Promise<{ code: number; stdout: string; stderr: string }> {
  bin = await mkdtemp(join(tmpdir(), "kiln-smoke-bin-"));
  for (const [name, target] of Object.entries(programs)) {
    if (target === null) continue;
    if (target.startsWith("#!")) {
      await writeFile(join(bin, name), target);
      await chmod(join(bin, name), 0o755);
    } else {
      await symlink(target, join(bin, name));
    }
  }
  try {
    const { stdout, stderr } = await run(BASH, [SCRIPT, ...args], { cwd: root, env: { PATH: bin, HOME: process.env.HOME ?? "/root" } });
    return { code: 0, stdout, stderr };
  } catch (err) {
    const e = err as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}

const secretsState = () => (existsSync(secretsFile) ? readFileSync(secretsFile, "utf8") : null);

describe("scripts/encore-smoke.sh on a machine without the Encore CLI", () => {
  it("refuses with status 3, saying what is missing and how to get it, before it starts or writes anything", async () => {
    const secretsBefore = secretsState();
    const result = await smoke({});
    expect(result.code).toBe(3);
    expect(result.stdout).toBe("");
    expect(result.stderr).toContain("encore-smoke: the Encore CLI (encore) is not on PATH, so nothing was run.");
    expect(result.stderr).toContain("https://encore.dev/docs/ts/install");
    expect(secretsState()).toEqual(secretsBefore);
  });

  it("with an encore but no curl, refuses naming curl, and never calls encore", async () => {
    const marker = join(tmpdir(), `kiln-smoke-encore-called-${process.pid}`);
    await rm(marker, { force: true });
    const result = await smoke({ encore: `#!${BASH}\necho called > ${marker}\n` });
    expect(result.code).toBe(3);
    expect(result.stderr).toContain("encore-smoke: curl is not on PATH");
    expect(existsSync(marker)).toBe(false);
  });

  it("explains itself with --help, without needing anything", async () => {
    const result = await smoke({ sed: "/bin/sed" }, ["--help"]);
    expect(result.code).toBe(0);
    expect(result.stdout).toContain("Kiln under the real Encore CLI");
    expect(result.stdout).toContain("Exit status: 0 all passed, 1 a check failed, 3 a required program is missing");
  });

  it("is an executable bash script that parses", async () => {
    expect(statSync(SCRIPT).mode & 0o111).not.toBe(0);
    await expect(run(BASH, ["-n", SCRIPT])).resolves.toBeDefined();
  });
});
