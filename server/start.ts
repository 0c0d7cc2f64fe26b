import type { FastifyInstance } from "fastify";
import type { Config } from "../lib/config";
import type { Logger } from "../lib/log";
import { createApp } from "./app";
import { listenShare } from "./share-listener";
import { composeKiln, type ComposeOptions, type Kiln } from "./compose";

/** An HTTP server that is listening. */
export interface Listening {
  /** Base URL, e.g. `http://127.0.0.1:4000`. */
  url: string;
  /**
   * Stops accepting connections, lets in-flight requests finish for up to the shutdown timeout, then
   * closes what is still open and runs `release` (pools, clients).
   */
  shutdown(): Promise<void>;
}

/** Listens with `app` and returns how to reach it and how to stop it gracefully. */
export async function listen(
  app: FastifyInstance,
  options: Pick<Config, "host" | "port" | "shutdownTimeoutMs">,
  release: () => Promise<void> = async () => undefined,
): Promise<Listening> {
  await app.listen({ host: options.host, port: options.port });
  const address = app.server.address();
  const port = typeof address === "object" && address ? address.port : options.port;
  const host = options.host.includes(":") ? `[${options.host}]` : options.host;
  let stopping: Promise<void> | undefined;
  return {
    url: `http://${host}:${port}`,
    shutdown: () => {
      stopping ??= (async () => {
        const deadline = setTimeout(() => app.server.closeAllConnections(), options.shutdownTimeoutMs);
        // Keep-alive connections turn idle as their last response ends: close each one as it does.
        const sweep = setInterval(() => app.server.closeIdleConnections(), 25);
        try {
          await app.close();
        } finally {
          clearTimeout(deadline);
          clearInterval(sweep);
          await release();
        }
      })();
      return stopping;
    },
  };
}

/** A running standalone Kiln. */
export interface RunningServer extends Listening {
  kiln: Kiln;
  /** Where the share listener listens (`KILN_SHARE_PORT`), or null when it does not run. */
  shareUrl: string | null;
}

/** Composes Kiln and serves it over HTTP on the configured host and port. */
export async function startServer(config: Config, log: Logger, options: ComposeOptions = {}): Promise<RunningServer> {
  const kiln = await composeKiln(config, log, options);
  const app = createApp({
    services: kiln.services,
    health: kiln.health,
    authenticate: kiln.authenticate,
    upgrade: kiln.upgrade,
    terminals: kiln.terminals,
    metrics: kiln.metrics,
    bodyLimitBytes: config.bodyLimitBytes,
    log,
  });
  const share = config.sharePort === undefined ? null : await listenShare(kiln.shareListener, config.host, config.sharePort).catch(async (err) => {
    await kiln.close();
    throw err;
  });
  const release = async () => {
    await share?.close();
    await kiln.close();
  };
  try {
    return { kiln, shareUrl: share?.url ?? null, ...(await listen(app, config, release)) };
  } catch (err) {
    await release();
    throw err;
  }
}
