import { ConfigError, loadConfig } from "../lib/config";
import { createPinoLogger, errorFields } from "../lib/log";
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
