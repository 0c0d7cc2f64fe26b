import { randomBytes } from "node:crypto";
import pg from "pg";
import type { Logger } from "../../lib/log";

/** The Postgres channel job-event news travels on (job ids are unique, so processes may share it). */
export const EVENTS_CHANNEL = "kiln_job_events";

/** How often streams are woken by reading the database when no LISTEN connection delivers news. */
export const FALLBACK_POLL_MS = 1000;

/** Postgres refuses a NOTIFY payload of 8000 bytes or more. */
const MAX_PAYLOAD = 7900;

/** What a channel hands news from other processes to. */
export interface ChannelHandlers {
  /** `jobId` has new events. */
  deliver(jobId: string): void;
  /** News may have been missed (the channel just started or came back): every stream reads again. */
  resync(): void;
  /** The jobs someone in this process is following. */
  watched(): string[];
}

/** How job-event news crosses processes. */
export interface EventChannel {
  /** Tells other processes that `jobId` has new events. */
  publish(jobId: string): void;
  /** Starts receiving other processes' news (once, when the first stream opens). */
  start(handlers: ChannelHandlers): void;
  /** How news arrives now: `listen` (a LISTEN connection), `poll` (a shared read of the job rows), `idle` (not started), `stopped`. */
  mode(): "idle" | "listen" | "poll" | "stopped";
  close(): Promise<void>;
}

/** Options of {@link postgresChannel}; the defaults are what production uses. */
export interface PostgresChannelOptions {
  log: Logger;
  pollMs?: number;
  /** First pause before reconnecting a LISTEN connection that dropped (doubles up to 5 s). */
  reconnectMs?: number;
}

/**
 * Job-event news through Postgres: `publish` sends one NOTIFY per tick for every job with news (the
 * event rows are committed first, so a woken stream finds them), and the process's one LISTEN
 * connection, opened at the first stream, wakes the streams of the jobs named. When it comes up or back
 * after a drop every stream reads again (what was appended meanwhile). While no LISTEN delivers, and
 * always on embedded PGlite (one shared session: a notification goes to whichever client runs a
 * statement, so LISTEN cannot work there), one query per `pollMs` reads the watched jobs' last event
 * ids and wakes those that moved: one read per process, not one per stream.
 */
export function postgresChannel(pool: pg.Pool, options: PostgresChannelOptions): EventChannel {
  const origin = randomBytes(6).toString("hex");
  const pollMs = options.pollMs ?? FALLBACK_POLL_MS;
  const baseReconnectMs = options.reconnectMs ?? 100;
  const pending = new Set<string>();
  let flushing = false;
  let state: "idle" | "listen" | "poll" | "stopped" = "idle";
  let handlers: ChannelHandlers | undefined;
  let listener: pg.Client | undefined;
  let pollTimer: NodeJS.Timeout | undefined;
  let reconnectTimer: NodeJS.Timeout | undefined;
  let reconnectMs = baseReconnectMs;
  const seen = new Map<string, number>();
  // Whether the database is PGlite (nothing to publish to, no LISTEN), asked once it answers.
  let known: Promise<boolean> | undefined;
  const embedded = (): Promise<boolean> =>
    (known ??= pool.query<{ version: string }>("SELECT version()").then(
      (r) => /PGlite/i.test(r.rows[0]?.version ?? ""),
      (err) => {
        known = undefined;
        throw err;
      },
    ));

  const flush = async () => {
    if (flushing || pending.size === 0 || state === "stopped") return;
    flushing = true;
    try {
      if (await embedded()) return pending.clear();
      while (pending.size > 0) {
        let payload = origin;
        for (const id of pending) {
          if (payload.length + id.length + 1 > MAX_PAYLOAD) break;
          payload += ` ${id}`;
          pending.delete(id);
        }
        await pool.query("SELECT pg_notify($1, $2)", [EVENTS_CHANNEL, payload]);
      }
    } catch (err) {
      // The events are stored: a stream that misses this news finds them at its next read.
      options.log.warn("could not notify other processes of new job events", { reason: (err as Error).message });
      pending.clear();
    } finally {
      flushing = false;
      if (pending.size > 0) setImmediate(() => void flush());
    }
  };

  const poll = async () => {
    pollTimer = undefined;
    if (state !== "poll" || !handlers) return;
    const ids = handlers.watched();
    try {
      if (ids.length > 0) {
        const { rows } = await pool.query<{ id: string; last_seq: number }>("SELECT id, last_seq FROM generation_jobs WHERE id = ANY($1)", [ids]);
        for (const row of rows) {
          if (seen.get(row.id) !== row.last_seq) handlers.deliver(row.id);
          seen.set(row.id, row.last_seq);
        }
      }
      for (const id of seen.keys()) if (!ids.includes(id)) seen.delete(id);
    } catch (err) {
      options.log.warn("could not read new job events", { reason: (err as Error).message });
    }
    schedulePoll();
  };
  const schedulePoll = () => {
    if (state === "poll" && !pollTimer) pollTimer = setTimeout(() => void poll(), pollMs).unref();
  };
  const toPoll = () => {
    if (state === "stopped") return;
    state = "poll";
    schedulePoll();
  };

  const onNotification = (message: pg.Notification) => {
    if (message.channel !== EVENTS_CHANNEL || !message.payload) return;
    const [sender, ...ids] = message.payload.split(" ");
    if (sender === origin) return;
    for (const id of ids) handlers?.deliver(id);
  };

  const retry = () => {
    reconnectTimer = setTimeout(() => void connect(), reconnectMs).unref();
    reconnectMs = Math.min(reconnectMs * 2, 5000);
  };

  const connect = async () => {
    reconnectTimer = undefined;
    if (state === "stopped") return;
    try {
      if (await embedded()) return;
    } catch {
      return retry();
    }
    const client = new pg.Client({ ...pool.options, keepAlive: true });
    const dropped = (err?: Error) => {
      if (listener !== client) return;
      listener = undefined;
      client.removeAllListeners("notification");
      void client.end().catch(() => undefined);
      if (state === "stopped") return;
      options.log.warn("the LISTEN connection for job events dropped; reading the database until it is back", { reason: err?.message ?? "ended" });
      toPoll();
      retry();
    };
    listener = client;
    client.on("error", dropped);
    client.on("end", () => dropped());
    client.on("notification", onNotification);
    try {
      await client.connect();
      await client.query(`LISTEN ${EVENTS_CHANNEL}`);
    } catch (err) {
      return dropped(err as Error);
    }
    // Dropped or closed meanwhile: whoever did it has ended the connection.
    if (listener !== client) return;
    state = "listen";
    reconnectMs = baseReconnectMs;
    clearTimeout(pollTimer);
    pollTimer = undefined;
    // Whatever was appended before LISTEN took effect was announced to nobody here: read it now.
    handlers?.resync();
  };

  return {
    publish(jobId) {
      if (state === "stopped") return;
      pending.add(jobId);
      if (pending.size === 1) setImmediate(() => void flush());
    },
    start(given) {
      if (handlers) return;
      handlers = given;
      toPoll();
      void connect();
    },
    mode: () => state,
    async close() {
      state = "stopped";
      clearTimeout(pollTimer);
      clearTimeout(reconnectTimer);
      const client = listener;
      listener = undefined;
      await client?.end().catch(() => undefined);
    },
  };
}
