import { ConfigError, loadConfig } from "../lib/config";
import { createPinoLogger, errorFields } from "../lib/log";
import { bootstrapLocalUser } from "../projects/users";
import { startServer } from "./start";

async function main(): Promise<void> {
  let config;
  try {
    config = loadConfig();
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`kiln: ${err.message}\n`);
      process.exit(2);
    }
    throw err;
  }
  const log = createPinoLogger(config.logLevel);
  const server = await startServer(config, log);
  log.info("kiln is listening", { url: server.url, database: server.kiln.databases.kind });
  const bootstrap = await bootstrapLocalUser(server.kiln.databases.pool("projects"), config.bootstrapToken);
  if (bootstrap && !config.bootstrapToken) {
    // Printed once, on the console only (never to the log): the database keeps just its hash.
    process.stdout.write(`\nKiln created the local user. Its API token (shown once, keep it):\n\n  ${bootstrap.token}\n\nManage tokens with: npm run token -- create|list|revoke\n\n`);
  } else if (bootstrap) {
    log.info("created the local user with the token from KILN_BOOTSTRAP_TOKEN", { tokenPrefix: bootstrap.prefix });
  }

  let signalled = false;
  const stop = (signal: NodeJS.Signals) => {
    if (signalled) return;
    signalled = true;
    log.info("shutting down", { signal });
    server.shutdown().then(
      () => {
        log.info("shutdown complete");
        process.exit(0);
      },
      (err) => {
        log.error("shutdown failed", errorFields(err));
        process.exit(1);
      },
    );
  };
  process.on("SIGTERM", stop);
  process.on("SIGINT", stop);
}

main().catch((err) => {
  process.stderr.write(`kiln: failed to start: ${err instanceof Error ? err.stack : String(err)}\n`);
  process.exit(1);
});
