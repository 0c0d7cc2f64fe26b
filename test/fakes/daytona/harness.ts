import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createDaytonaProvider, type DaytonaProviderOptions } from "../../../workspace/sandbox/daytona";
import type { SandboxProvider } from "../../../workspace/sandbox/provider";
import { reservePort } from "../../support/ports";
import { silentLogger, startFakeDaytona, type FakeDaytona, type FakeDaytonaOptions } from "./server";

/** A fake Daytona API and a Daytona provider (the real SDK, polling over HTTP) pointed at it. */
export interface DaytonaHarness {
  fake: FakeDaytona;
  provider: SandboxProvider;
  /** The one preview port of the fake, nothing listening on it at first. */
  devPort: number;
  /** Where the fake keeps its local sandboxes. */
  root: string;
  /** A second provider on the same fake (another Kiln process: none of the first one's memory). */
  another(options?: Partial<DaytonaProviderOptions>): SandboxProvider;
  cleanup(): Promise<void>;
}

/** Starts the fake (realistic unless `fake.realism` says otherwise) and a provider with quick retries and timeouts. */
export async function startDaytonaHarness(options: { provider?: Partial<DaytonaProviderOptions>; fake?: Partial<FakeDaytonaOptions> } = {}): Promise<DaytonaHarness> {
  const devPort = await reservePort();
  const root = await mkdtemp(join(tmpdir(), "kiln-daytona-test-"));
  const fake = await startFakeDaytona({ previewPorts: [devPort, devPort], log: silentLogger, root, pageSize: 2, ...options.fake });
  const providers: SandboxProvider[] = [];
  const make = (extra: Partial<DaytonaProviderOptions> = {}) => {
    const provider = createDaytonaProvider({
      apiKey: fake.apiKey,
      apiUrl: fake.apiUrl,
      autoStopMinutes: 15,
      autoArchiveMinutes: 7 * 24 * 60,
      public: false,
      log: silentLogger,
      useDeprecatedPolling: true,
      killGraceMs: 500,
      startTimeoutSeconds: 20,
      retries: { attempts: 6, baseMs: 20, maxMs: 200 },
      ...options.provider,
      ...extra,
    });
    providers.push(provider);
    return provider;
  };
  const provider = make();
  return {
    fake,
    provider,
    devPort,
    root,
    another: make,
    async cleanup() {
      for (const each of providers) await each.close();
      await fake.close();
      await rm(root, { recursive: true, force: true });
    },
  };
}
