import { composeKiln } from "./compose";
import { runMain, stopOnSignals } from "./process";
import { startTelemetry } from "./telemetry";

// `npm run worker`: only the generation runner, sharing the server's Postgres (DATABASE_URL) so several
// processes split the queue. Under Encore the runner starts with the ai service instead.
runMain("kiln worker", async (config, log) => {
  if (config.runnerConcurrency === 0) throw new Error("KILN_RUNNER_CONCURRENCY is 0: this worker would run nothing");
  const telemetry = startTelemetry(config, log);
  const kiln = await composeKiln(config, log);
  log.info("kiln worker is running", { database: kiln.databases.kind, concurrency: config.runnerConcurrency });
  stopOnSignals(async () => {
    await kiln.close();
    await telemetry.shutdown();
  }, log);
});
