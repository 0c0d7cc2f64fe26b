/**
 * In-memory MongoDB stand-in for tests: a TCP server speaking the wire protocol (OP_QUERY
 * handshake, then OP_MSG) that the official `mongodb` driver uses unchanged, including
 * GridFSBucket. It claims to be a MongoDB 7.0 standalone (so no transactions).
 *
 * Modules: wire.ts (framing), commands/ (one handler per command), store.ts (collections and
 * unique indexes), query.ts / update.ts / projection.ts / sort.ts / aggregate.ts (semantics),
 * cursors.ts (batches for getMore). Anything it does not implement fails with a
 * CommandNotSupported (115) or BadValue (2) error instead of a silently wrong answer.
 */
import net, { type AddressInfo } from "node:net";
import { commandName, runCommand } from "./commands/index.js";
import { CursorRegistry } from "./cursors.js";
import { Store } from "./store.js";
import { encodeReply, MessageSplitter, parseRequest } from "./wire.js";

/** A running in-memory MongoDB stand-in that the official driver talks to over TCP. */
export interface FakeMongo {
  /** Connection string, e.g. "mongodb://127.0.0.1:12345/?directConnection=true". */
  readonly uri: string;
  readonly port: number;
  /** Stops listening and destroys every open connection, keeping the data (a server outage). */
  stop(): Promise<void>;
  /** Listens again on the same port with the same data (the server came back). */
  restart(): Promise<void>;
  /** Stops and drops all data. */
  close(): Promise<void>;
  /** Number of commands received, by name (useful for tests asserting round trips). */
  commandCounts(): Record<string, number>;
  resetCounts(): void;
}

/**
 * Starts a fake MongoDB server (standalone, MongoDB 7.0 wire protocol) on `host` (default
 * 127.0.0.1) and `port` (default: a free one). Data lives in memory until `close()`.
 */
export async function startFakeMongo(opts: { port?: number; host?: string } = {}): Promise<FakeMongo> {
  const host = opts.host ?? "127.0.0.1";
  const store = new Store();
  const cursors = new CursorRegistry();
  const counts = new Map<string, number>();
  const sockets = new Set<net.Socket>();
  let nextConnectionId = 1;
  let server: net.Server | undefined;

  const serve = (socket: net.Socket): void => {
    const connectionId = nextConnectionId++;
    const splitter = new MessageSplitter();
    sockets.add(socket);
    socket.setNoDelay(true);
    socket.on("close", () => sockets.delete(socket));
    socket.on("error", () => socket.destroy());
    socket.on("data", (chunk: Buffer) => {
      try {
        for (const message of splitter.push(chunk)) {
          const request = parseRequest(message);
          const name = commandName(request.command);
          counts.set(name, (counts.get(name) ?? 0) + 1);
          const reply = runCommand(request.command, { store, cursors, databaseName: request.databaseName, connectionId });
          if (!request.moreToCome) socket.write(encodeReply(request, reply));
        }
      } catch (error) {
        console.warn(`fake MongoDB server: closing connection ${connectionId}: ${(error as Error).message}`);
        socket.destroy();
      }
    });
  };

  const listen = (port: number): Promise<number> =>
    new Promise((resolve, reject) => {
      const candidate = net.createServer(serve);
      candidate.once("error", reject);
      candidate.listen(port, host, () => {
        candidate.off("error", reject);
        server = candidate;
        resolve((candidate.address() as AddressInfo).port);
      });
    });

  const stop = async (): Promise<void> => {
    const running = server;
    if (!running) return;
    server = undefined;
    const closed = new Promise<void>((resolve) => running.close(() => resolve()));
    for (const socket of sockets) socket.destroy();
    cursors.clear();
    await closed;
  };

  const port = await listen(opts.port ?? 0);
  return {
    uri: `mongodb://${host}:${port}/?directConnection=true`,
    port,
    stop,
    restart: async () => {
      if (!server) await listen(port);
    },
    close: async () => {
      await stop();
      store.clear();
    },
    commandCounts: () => Object.fromEntries(counts),
    resetCounts: () => counts.clear(),
  };
}
