import { ConfigError, loadConfig, type Config } from "../lib/config";
import { createPinoLogger, errorFields, type Logger } from "../lib/log";

/** Loads the configuration, or exits with status 2 and the list of what is wrong. */
export function configOrExit(): Config {
  try {
    return loadConfig();
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`kiln: ${err.message}\n`);
      process.exit(2);
    }
    throw err;
  }
}

/** Runs `stop` once on SIGTERM or SIGINT, then exits (0 when it finished cleanly). */
export function stopOnSignals(stop: () => Promise<void>, log: Logger): void {
  let signalled = false;
  const handle = (signal: NodeJS.Signals) => {
    if (signalled) return;
    signalled = true;
    log.info("shutting down", { signal });
    stop().then(
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
  process.on("SIGTERM", handle);
  process.on("SIGINT", handle);
}

/** Runs a process's `main`, turning a failure to start into one clear line and exit status 1. */
export function runMain(name: string, main: (config: Config, log: Logger) => Promise<void>): void {
  const config = configOrExit();
  const log = createPinoLogger(config.logLevel);
  main(config, log).catch((err) => {
    process.stderr.write(`${name}: failed to start: ${err instanceof Error ? err.message : String(err)}\n`);
    log.debug("start failure", errorFields(err));
    process.exit(1);
  });
}
