/**
 * Runs the fake MongoDB server until SIGTERM/SIGINT:
 *   npx tsx test/fakes/mongo/cli.ts [--port N]
 * Prints `MONGODB_URI=<uri>` once it listens.
 */
import { parseArgs } from "node:util";
import { startFakeMongo } from "./server.js";

const { values } = parseArgs({ options: { port: { type: "string" } } });
const port = values.port === undefined ? 0 : Number(values.port);
if (!Number.isInteger(port) || port < 0 || port > 65535) {
  console.error(`invalid --port ${values.port}`);
  process.exit(2);
}

const fake = await startFakeMongo({ port });
console.log(`MONGODB_URI=${fake.uri}`);

const shutdown = async (): Promise<void> => {
  await fake.close();
  process.exit(0);
};
process.once("SIGTERM", shutdown);
process.once("SIGINT", shutdown);
