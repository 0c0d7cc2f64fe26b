import { startFakeAnthropic, type FakeAnthropic } from "../fakes/anthropic/server";
import { startFakeDaytona, type FakeDaytona } from "../fakes/daytona/server";
import type { Script } from "../fakes/anthropic/script";
import { client, type TestClient } from "./http";
import { reservePorts } from "./ports";
import { startTestKiln, type TestKiln } from "./kiln";
import { startTestMongo, type TestMongo } from "./mongo";

/** The standalone server with a MongoDB (stand-in unless MONGODB_URI) and a scripted model, and a signed-in user. */
export interface GenerationStack {
  kiln: TestKiln;
  mongo: TestMongo;
  model: FakeAnthropic;
  api: TestClient;
  token: string;
  close(): Promise<void>;
}

/** Starts everything a generation needs for one test file; `env` adds to or overrides the server's settings. */
export async function startGenerationStack(options: { script?: Script; env?: Record<string, string | undefined> } = {}): Promise<GenerationStack> {
  const mongo = await startTestMongo();
  const model = await startFakeAnthropic({ script: options.script });
  const kiln = await startTestKiln({
    MONGODB_URI: mongo.uri,
    KILN_MONGODB_DATABASE: mongo.databaseName,
    ANTHROPIC_BASE_URL: model.baseURL,
    ANTHROPIC_API_KEY: "sk-test-stack",
    KILN_WORKSPACE_POLL_MS: "50",
    ...options.env,
  });
  const { token } = await kiln.createUser("tester");
  return {
    kiln,
    mongo,
    model,
    api: client(kiln.url, token),
    token,
    close: async () => {
      await kiln.close();
      await model.close();
      await mongo.close();
    },
  };
}

/** The same on Daytona, through the fake (as real Daytona behaves). */
export async function startDaytonaGenerationStack(options: { script?: Script; env?: Record<string, string | undefined> } = {}): Promise<GenerationStack & { daytona: FakeDaytona }> {
  // The Daytona SDK would otherwise open a Socket.IO connection the fake does not serve.
  process.env.DAYTONA_USE_DEPRECATED_POLLING = "true";
  const [firstPort, lastPort] = await reservePorts(20);
  const daytona = await startFakeDaytona({ previewPorts: [firstPort, lastPort] });
  const stack = await startGenerationStack({
    script: options.script,
    env: { KILN_SANDBOX: "daytona", DAYTONA_API_KEY: daytona.apiKey, DAYTONA_API_URL: daytona.apiUrl, KILN_PREVIEW_PORTS: `${firstPort}-${lastPort}`, ...options.env },
  }).catch(async (err: unknown) => {
    await daytona.close();
    throw err;
  });
  return {
    ...stack,
    daytona,
    close: async () => {
      await stack.close();
      await daytona.close();
    },
  };
}
