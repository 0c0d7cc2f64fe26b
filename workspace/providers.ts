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

/** Builds the configured sandbox provider. */
export async function createProvider(config: Config, log: Logger): Promise<SandboxProvider> {
  const name = providerName(config);
  if (name === "daytona") {
    throw new Error("KILN_SANDBOX=daytona: the Daytona provider is not available in this build yet; use KILN_SANDBOX=local");
  }
  return createLocalProvider({
    root: join(resolve(config.dataDir), "sandboxes"),
    portRange: config.previewPorts,
    previewHost: config.previewHost,
    log,
  });
}
