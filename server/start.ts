import type { Config } from "../lib/config";
import type { Logger } from "../lib/log";
import { createApp } from "./app";
import { composeKiln, type ComposeOptions, type Kiln } from "./compose";

/** A running standalone server. */
export interface RunningServer {
  /** Base URL, e.g. `http://127.0.0.1:4000`. */
  url: string;
  kiln: Kiln;
  /**
   * Stops accepting connections, lets in-flight requests finish for up to the configured timeout,
   * then closes what is still open and releases the databases.
   */
  shutdown(): Promise<void>;
}

/** Composes Kiln and serves it over HTTP on the configured host and port. */
export async function startServer(config: Config, log: Logger, options: ComposeOptions = {}): Promise<RunningServer> {
  const kiln = await composeKiln(config, log, options);
  const app = createApp({ services: kiln.services, health: kiln.health, bodyLimitBytes: config.bodyLimitBytes, log });
  try {
    await app.listen({ host: config.host, port: config.port });
  } catch (err) {
    await kiln.close();
    throw err;
  }
  const address = app.server.address();
  const port = typeof address === "object" && address ? address.port : config.port;
  let stopping: Promise<void> | undefined;
  return {
    url: `http://${config.host.includes(":") ? `[${config.host}]` : config.host}:${port}`,
    kiln,
    shutdown: () => {
      stopping ??= (async () => {
        const deadline = setTimeout(() => app.server.closeAllConnections(), config.shutdownTimeoutMs);
        try {
          await app.close();
        } finally {
          clearTimeout(deadline);
          await kiln.close();
        }
      })();
      return stopping;
    },
  };
}
