/**
 * `npm run smoke:sandbox`: shows a local sandbox's network doing what generated apps need, by hand (not
 * a unit test: it needs the npm registry). In a fresh isolated sandbox, `npm install is-number` runs
 * against the registry through slirp4netns, then the host's Postgres port is tried and must be refused.
 */
import { rm } from "node:fs/promises";
import { join } from "node:path";
import { createPinoLogger } from "../lib/log";
import { searchableTempDir } from "../test/support/isolation";
import { createLocalProvider } from "../workspace/sandbox/local";

const root = await searchableTempDir("kiln-smoke-");
const provider = await createLocalProvider({ root: join(root, "sandboxes"), portRange: [4190, 4190], log: createPinoLogger("warn") });
let failed = false;
try {
  const health = await provider.health();
  process.stdout.write(`sandbox: ${health.status}: ${health.detail}\n`);
  const sandbox = await provider.create({ workspaceId: "wsp_smoke", projectId: "prj_smoke" });
  const step = async (what: string, command: string, expectSuccess: boolean) => {
    const result = await provider.exec(sandbox.id, { command, timeoutMs: 180_000, maxOutputBytes: 64 * 1024 });
    const ok = (result.exitCode === 0) === expectSuccess;
    failed ||= !ok;
    process.stdout.write(`${ok ? "ok  " : "FAIL"} ${what} (exit ${result.exitCode}, ${result.durationMs} ms)\n${result.output.trim().split("\n").slice(-5).map((line) => `       ${line}`).join("\n")}\n`);
  };
  await step("npm install is-number from the registry", "npm init -y >/dev/null && npm install --no-audit --no-fund is-number && node -e 'console.log(require(\"is-number\")(42))'", true);
  await step("the host's Postgres (127.0.0.1:5432) is unreachable", "timeout 3 bash -c 'echo > /dev/tcp/127.0.0.1/5432'", false);
} finally {
  await provider.close();
  await rm(root, { recursive: true, force: true });
}
process.exit(failed ? 1 : 0);
