import http from "node:http";
import type { AddressInfo } from "node:net";
import type { Duplex } from "node:stream";

/** What the share listener serves: each link on a host of its own (projects/share/gateway.ts). */
export interface ShareListenerHandlers {
  serve(req: http.IncomingMessage, res: http.ServerResponse): void;
  upgrade(req: http.IncomingMessage, socket: Duplex, head: Buffer): void;
}

/** A listening share listener. */
export interface ShareListener {
  /** `http://<host>:<port>` it listens on. */
  url: string;
  close(): Promise<void>;
}

/**
 * The dedicated share listener (`KILN_SHARE_PORT`): plain Node HTTP, no API, no dashboard, nothing
 * but the gateway. Headers must arrive within 10 s and a request within 60 s (a slow client holds
 * nothing longer); the gateway bounds bodies itself.
 */
export async function listenShare(handlers: ShareListenerHandlers, host: string, port: number): Promise<ShareListener> {
  const server = http.createServer({ headersTimeout: 10_000, requestTimeout: 60_000 }, handlers.serve);
  server.on("upgrade", handlers.upgrade);
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, host, () => resolve());
  });
  const address = server.address() as AddressInfo;
  return {
    url: `http://${host.includes(":") ? `[${host}]` : host}:${address.port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
