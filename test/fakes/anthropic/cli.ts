/**
 * Runs the fake Anthropic server as a process:
 *
 *   npx tsx test/fakes/anthropic/cli.ts --script my-script.ts [--port 4100] [--api-key sk-test]
 *
 * The script module's default export is a Script. Prints `ANTHROPIC_BASE_URL=<url>` once
 * listening; exits on SIGTERM/SIGINT.
 */
import { resolve } from "node:path";
import { pathToFileURL } from "node:url";
import { parseArgs } from "node:util";
import { startFakeAnthropic, type Script } from "./server";

const { values } = parseArgs({
  options: { script: { type: "string" }, port: { type: "string", default: "0" }, "api-key": { type: "string" } },
});
if (values.script === undefined) {
  console.error("usage: tsx test/fakes/anthropic/cli.ts --script <file.ts> [--port <n>] [--api-key <key>]");
  process.exit(2);
}
const loaded = (await import(pathToFileURL(resolve(values.script)).href)) as { default?: Script };
if (loaded.default === undefined) {
  console.error(`${values.script} has no default export (a Script)`);
  process.exit(2);
}
const fake = await startFakeAnthropic({ script: loaded.default, port: Number(values.port), apiKey: values["api-key"] });
console.log(`ANTHROPIC_BASE_URL=${fake.baseURL}`);

for (const signal of ["SIGTERM", "SIGINT"] as const) {
  process.once(signal, () => {
    void fake.close().then(() => process.exit(0));
  });
}
