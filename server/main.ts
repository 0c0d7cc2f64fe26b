import { bootstrapLocalUser } from "../projects/users";
import { runMain, stopOnSignals } from "./process";
import { startServer } from "./start";
import { startTelemetry } from "./telemetry";

runMain("kiln", async (config, log) => {
  if (!config.anthropicApiKey) {
    throw new Error(
      "ANTHROPIC_API_KEY is not set: Kiln's agent needs a Claude API key. Set it (and MONGODB_URI), or try everything offline with `npm run demo`.",
    );
  }
  if (!config.mongodbUri) {
    throw new Error(
      "MONGODB_URI is not set: the vfs keeps every project file in MongoDB (GridFS) and Kiln never keeps them in memory silently. Set MONGODB_URI=mongodb://host:27017, or try everything offline with `npm run demo`.",
    );
  }
  if (config.sandboxIsolation === "none") {
    process.stderr.write("\n!!! KILN_SANDBOX_ISOLATION=none: local sandboxes are UNCONFINED. Generated code runs on this machine as Kiln's user, with its files and network. Never use it with code you do not trust. !!!\n\n");
  }
  const telemetry = startTelemetry(config, log);
  const server = await startServer(config, log);
  log.info("kiln is listening", { url: server.url, database: server.kiln.databases.kind });
  const bootstrap = await bootstrapLocalUser(server.kiln.databases.pool("projects"), config.bootstrapToken);
  if (bootstrap && !config.bootstrapToken) {
    // Printed once, on the console only (never to the log): the database keeps just its hash.
    process.stdout.write(`\nKiln created the local user. Its API token (shown once, keep it):\n\n  ${bootstrap.token}\n\nManage tokens with: npm run token -- create|list|revoke\n\n`);
  } else if (bootstrap) {
    log.info("created the local user with the token from KILN_BOOTSTRAP_TOKEN", { tokenPrefix: bootstrap.prefix });
  }
  stopOnSignals(async () => {
    await server.shutdown();
    await telemetry.shutdown();
  }, log);
});
