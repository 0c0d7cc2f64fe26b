import { EventEmitter } from "node:events";
import websocket from "@fastify/websocket";
import type { FastifyInstance, FastifyRequest } from "fastify";
import type { UpgradeHandler } from "../../server/mount";
import type { TerminalHandshake } from "../contract";
import type { RedeemedTicket, TerminalSessions } from "./sessions";

/** The terminal socket's path, as Encore's streamInOut in workspace/api.ts declares it. */
export const TERMINAL_SOCKET_PATH = "/workspaces/:id/terminals/:terminalId/socket";

const SOCKET_URL = /^\/workspaces\/[^/?]+\/terminals\/[^/?]+\/socket(\?|$)/;

/** Whether an upgrade request is for a terminal socket. */
export function isTerminalSocketUrl(url: string | undefined): boolean {
  return url !== undefined && SOCKET_URL.test(url);
}

/**
 * Serves terminal sockets on the standalone server with @fastify/websocket: the ticket is redeemed in
 * a hook, before the upgrade, so a missing, spent or foreign ticket is answered over HTTP in Encore's
 * error shape (401, 404) and no socket opens. Returns the handler for the server's terminal upgrades.
 */
export function mountTerminalSocket(app: FastifyInstance, sessions: TerminalSessions): UpgradeHandler {
  const upgrades = new EventEmitter();
  const redeemed = new WeakMap<FastifyRequest, RedeemedTicket>();
  void app.register(async (scope) => {
    await scope.register(websocket, { options: { server: upgrades as never, maxPayload: sessions.maxMessageBytes } });
    scope.get(
      TERMINAL_SOCKET_PATH,
      {
        websocket: true,
        preValidation: async (request) => {
          const { id, terminalId } = request.params as { id: string; terminalId: string };
          const { ticket } = request.query as { ticket?: unknown };
          redeemed.set(request, sessions.redeem({ id, terminalId, ticket: typeof ticket === "string" ? ticket : "" } as TerminalHandshake));
        },
      },
      (socket, request) => {
        const attachment = sessions.attach(redeemed.get(request)!, {
          send: (message) => {
            if (socket.readyState === socket.OPEN) socket.send(JSON.stringify(message));
          },
          close: () => socket.close(1000),
        });
        socket.on("message", (data: Buffer, isBinary: boolean) => {
          let message: unknown;
          try {
            message = isBinary ? undefined : JSON.parse(data.toString());
          } catch {
            message = undefined;
          }
          void attachment.receive(message);
        });
        socket.on("close", () => attachment.detach());
        socket.on("error", () => attachment.detach());
      },
    );
  });
  return (req, socket, head) => void upgrades.emit("upgrade", req, socket, head);
}
