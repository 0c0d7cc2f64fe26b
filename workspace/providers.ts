import { join, resolve } from "node:path";
import type { Config } from "../lib/config";
import type { Logger } from "../lib/log";
import { createLocalProvider } from "./sandbox/local";
import type { SandboxProvider } from "./sandbox/provider";

/** Which provider the configuration asks for: `KILN_SANDBOX`, else Daytona when it has a key, else local. */
export function providerName(config: Pick<Config, "sandbox" | "daytonaApiKey">): "local" | "daytona" {
  if (config.sandbox !== "auto") return config.sandbox;
  return config.daytonaApiKey ? "daytona" : "local";
}

/** Builds the configured sandbox provider; the Daytona SDK (about 50 MB once loaded) is loaded only for Daytona. */
export async function createProvider(config: Config, log: Logger): Promise<SandboxProvider> {
  const name = providerName(config);
  if (name === "daytona") {
    if (!config.daytonaApiKey) throw new Error("KILN_SANDBOX=daytona needs DAYTONA_API_KEY");
    const { createDaytonaProvider } = await import("./sandbox/daytona");
    return createDaytonaProvider({
      apiKey: config.daytonaApiKey,
      apiUrl: config.daytonaApiUrl,
      target: config.daytonaTarget,
      autoStopMinutes: config.daytonaAutoStopMinutes,
      autoArchiveMinutes: config.daytonaAutoArchiveMinutes,
      public: config.daytonaPublic,
      previewTtlSeconds: config.daytonaPreviewTtlSeconds,
      restoreTimeoutMinutes: config.daytonaRestoreTimeoutMinutes,
      previewPorts: config.previewPorts,
      log,
    });
  }
  return createLocalProvider({
    root: join(resolve(config.dataDir), "sandboxes"),
    templateCache: config.templateCache ? resolve(config.templateCache) : undefined,
    portRange: config.previewPorts,
    previewHost: config.previewHost,
    isolation: config.sandboxIsolation,
    log,
  });
}
