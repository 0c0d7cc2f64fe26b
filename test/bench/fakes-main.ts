/**
 * The stand-ins for MongoDB and the model in a process of their own, so the benchmark's figures of the
 * server process are Kiln's alone: prints `{ mongoUri, modelUrl }` as one JSON line (after READY), then serves until
 * killed.
 */
import { setPriority } from "node:os";
import { startFakeAnthropic } from "../fakes/anthropic/server";
import { helloAppSession } from "../fakes/anthropic/sessions/hello-app";
import { startFakeMongo } from "../fakes/mongo/server";
import { READY } from "./processes";

// MongoDB and the model API run on other machines in production: on this one the stand-ins take the
// CPU only when nothing of Kiln's (or the clients measuring it) wants it.
setPriority(10);

const mongo = await startFakeMongo();
const model = await startFakeAnthropic({ script: helloAppSession });
process.stdout.write(`${READY}${JSON.stringify({ mongoUri: mongo.uri, modelUrl: model.baseURL })}\n`);
process.on("SIGTERM", () => {
  void Promise.all([mongo.close(), model.close()]).finally(() => process.exit(0));
});
