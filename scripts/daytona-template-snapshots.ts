/**
 * `npx tsx scripts/daytona-template-snapshots.ts`: builds on Daytona, ahead of time, the snapshot of
 * every template with dependencies, exactly as the Daytona provider would on a workspace's first use
 * (same names, so the server finds them; existing ones are kept). Reads DAYTONA_API_KEY,
 * DAYTONA_API_URL and DAYTONA_TARGET as the server does. Prints one line per template.
 */
import { Daytona } from "@daytonaio/sdk";
import { loadConfig } from "../lib/config";
import { createPinoLogger } from "../lib/log";
import { TemplateCatalog } from "../lib/templates";
import { STATE_CHANGE_RETRIES } from "../workspace/sandbox/daytona-errors";
import { TemplateSnapshots } from "../workspace/sandbox/daytona-snapshots";
import { sandboxTemplate } from "../workspace/service";

const config = loadConfig();
if (!config.daytonaApiKey) {
  process.stderr.write("DAYTONA_API_KEY is not set: there is no Daytona organisation to build snapshots in\n");
  process.exit(2);
}
const daytona = new Daytona({ apiKey: config.daytonaApiKey, apiUrl: config.daytonaApiUrl, target: config.daytonaTarget });
const snapshots = new TemplateSnapshots(daytona, { buildTimeoutMs: 30 * 60_000, pollMs: 2000, retries: STATE_CHANGE_RETRIES, log: createPinoLogger("warn") });
let failed = false;
try {
  for (const template of TemplateCatalog.shared().all()) {
    const { manifest } = template;
    if (!manifest.install || !template.dependencyVersion) continue;
    const started = performance.now();
    try {
      const name = await snapshots.ensure(sandboxTemplate(template));
      process.stdout.write(`ok   ${manifest.name}: ${name} (${((performance.now() - started) / 1000).toFixed(1)} s)\n`);
    } catch (err) {
      failed = true;
      process.stdout.write(`FAIL ${manifest.name}: ${(err as Error).message}\n`);
    }
  }
} finally {
  await daytona[Symbol.asyncDispose]();
}
process.exit(failed ? 1 : 0);
