import { createServer, type Server, type Socket } from "node:net";
import type { PGlite } from "@electric-sql/pglite";

const SSL_REQUEST = 80877103;
const CANCEL_REQUEST = 80877102;
/** Messages after which the client waits for the server: a group of messages ends there. */
const GROUP_ENDS = new Set(["S", "Q", "X", "p", "H", "c", "f"].map((c) => c.charCodeAt(0)));
const TERMINATE = "X".charCodeAt(0);

/**
 * Turns on PGlite's single session: one connection at a time runs a group of messages, and a
 * connection inside a transaction keeps its turn until the transaction ends.
 */
class SessionGate {
  private owner: number | null = null;
  private readonly waiting: { id: number; resolve: () => void }[] = [];

  async enter(id: number): Promise<void> {
    if (this.owner === null || this.owner === id) {
      this.owner = id;
      return;
    }
    await new Promise<void>((resolve) => this.waiting.push({ id, resolve }));
  }

  leave(id: number): void {
    if (this.owner !== id) return;
    const next = this.waiting.shift();
    this.owner = next?.id ?? null;
    next?.resolve();
  }

  forget(id: number): void {
    const at = this.waiting.findIndex((w) => w.id === id);
    if (at !== -1) this.waiting.splice(at, 1);
  }
}

/**
 * Serves an embedded PGlite database to `pg` clients over TCP on 127.0.0.1. Unlike a message-by-message
 * multiplexer, it runs each client's message group (Parse…Sync, or a Query) as one unit and keeps a
 * transaction's connection in charge until it commits, so concurrent pool connections never see each
 * other's unnamed statements or half-done transactions.
 */
export async function servePglite(db: PGlite): Promise<{ port: number; dropClients(): void; close(): Promise<void> }> {
  const gate = new SessionGate();
  const sockets = new Set<Socket>();
  let nextId = 1;

  const run = async (message: Uint8Array, socket: Socket) => {
    await db.runExclusive(() =>
      db.execProtocolRawStream(message, {
        onRawData: (data) => {
          if (data.length > 0 && socket.writable) socket.write(Buffer.from(data));
        },
      }),
    );
  };

  const serve = (socket: Socket) => {
    const id = nextId++;
    sockets.add(socket);
    socket.setNoDelay(true);
    let buffer = Buffer.alloc(0);
    let started = false;
    let group: Uint8Array[] = [];
    let work = Promise.resolve();

    const runGroup = (messages: Uint8Array[]) => {
      work = work.then(async () => {
        await gate.enter(id);
        try {
          for (const message of messages) {
            if (message[0] === TERMINATE) {
              socket.end();
              return;
            }
            await run(message, socket);
          }
        } finally {
          if (db.closed || !db.isInTransaction()) gate.leave(id);
        }
      }).catch(() => {
        socket.destroy();
      });
    };

    socket.on("data", (chunk: Buffer) => {
      buffer = Buffer.concat([buffer, chunk]);
      for (;;) {
        if (!started) {
          if (buffer.length < 8) return;
          const length = buffer.readInt32BE(0);
          if (buffer.length < length) return;
          const code = buffer.readInt32BE(4);
          const message = buffer.subarray(0, length);
          buffer = buffer.subarray(length);
          if (code === SSL_REQUEST) socket.write("N");
          else if (code === CANCEL_REQUEST) socket.end();
          else {
            started = true;
            runGroup([Uint8Array.from(message)]);
          }
          continue;
        }
        if (buffer.length < 5) return;
        const length = 1 + buffer.readInt32BE(1);
        if (buffer.length < length) return;
        const message = Uint8Array.from(buffer.subarray(0, length));
        buffer = buffer.subarray(length);
        group.push(message);
        if (GROUP_ENDS.has(message[0]!)) {
          runGroup(group);
          group = [];
        }
      }
    });
    socket.on("error", () => socket.destroy());
    socket.on("close", () => {
      sockets.delete(socket);
      gate.forget(id);
      // A client gone mid-transaction must not leave the session stuck in it. `exec` takes PGlite's
      // query lock itself: inside `runExclusive`, which holds it, it would wait for ever, and so would
      // every client after it.
      work = work.then(async () => {
        await gate.enter(id);
        if (!db.closed && db.isInTransaction()) await db.exec("ROLLBACK").catch(() => undefined);
        gate.leave(id);
      });
    });
  };

  const server: Server = createServer(serve);
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => resolve());
  });
  const address = server.address();
  return {
    port: typeof address === "object" && address ? address.port : 0,
    dropClients: () => {
      for (const socket of sockets) socket.destroy();
    },
    close: () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  };
}
