import { randomBytes } from "node:crypto";
import { StringDecoder } from "node:string_decoder";
import type { Config } from "../../lib/config";
import { AppError, notFound } from "../../lib/errors";
import { errorFields, type Logger } from "../../lib/log";
import type { TerminalCloseReason, TerminalHandshake, TerminalList, TerminalServerMessage, TerminalTicket } from "../contract";
import type { SandboxProvider, SandboxTerminal } from "../sandbox/provider";
import { checkTerminalSize } from "../sandbox/terminal-command";

/** The bounds of terminals, from lib/config.ts (KILN_TERMINAL_*). */
export interface TerminalLimits {
  /** Output kept per terminal for the next attach (a reconnect sees it first). */
  scrollbackBytes: number;
  /** A terminal with no input for this long is closed. */
  idleTimeoutMs: number;
  /** Live terminals one workspace may have. */
  perWorkspace: number;
  /** The largest input message (a paste), in bytes of UTF-8. */
  maxInputBytes: number;
  /** How often the files of a terminal that had input are backed up to the vfs (also on close). */
  backupIntervalMs: number;
}

/** The terminal limits a configuration names. */
export function terminalLimitsOf(config: Pick<Config, "terminalScrollbackBytes" | "terminalIdleTimeoutMs" | "terminalsPerWorkspace" | "terminalMaxInputBytes" | "terminalBackupIntervalMs">): TerminalLimits {
  return {
    scrollbackBytes: config.terminalScrollbackBytes,
    idleTimeoutMs: config.terminalIdleTimeoutMs,
    perWorkspace: config.terminalsPerWorkspace,
    maxInputBytes: config.terminalMaxInputBytes,
    backupIntervalMs: config.terminalBackupIntervalMs,
  };
}

/** Backs a workspace's files up to the vfs in the name of the terminal's user (the agent's backup path). */
export type TerminalBackup = (target: { projectId: string; workspaceId: string; userID: string }) => Promise<void>;

/** The browser's end of an attached terminal: a socket in either runtime. */
export interface TerminalPeer {
  send(message: TerminalServerMessage): void;
  close(): void;
}

/** An attached socket's side of its terminal: what it received, and its going away. */
export interface TerminalAttachment {
  /** One message from the browser; an invalid one closes the socket with the reason. */
  receive(message: unknown): Promise<void>;
  /** The socket closed: the terminal lives on for a reconnect until idle. */
  detach(): void;
}

/** What a redeemed ticket opens: the terminal, for {@link TerminalSessions.attach}. */
export interface RedeemedTicket {
  terminalId: string;
}

/** How long a ticket opens its socket: enough for the browser to connect right after asking. */
const TICKET_TTL_MS = 60_000;

/** Most characters of one output message: a flood from the sandbox travels in bounded frames. */
const OUTPUT_FRAME_CHARS = 64 * 1024;

interface Session {
  id: string;
  workspaceId: string;
  projectId: string;
  userID: string;
  createdAt: Date;
  terminal: SandboxTerminal;
  decoder: StringDecoder;
  scrollback: string;
  peer?: TerminalPeer;
  /** Input arrived since the last backup. */
  dirty: boolean;
  idle: NodeJS.Timeout;
  backups: NodeJS.Timeout;
  ended: boolean;
}

interface Ticket {
  terminalId: string;
  workspaceId: string;
  userID: string;
  expiresAt: number;
}

/** Where a new terminal goes: the running workspace's sandbox, and who opens it. */
export interface TerminalTarget {
  workspaceId: string;
  projectId: string;
  sandboxId: string;
  userID: string;
  terminalId?: string;
  rows?: number;
  cols?: number;
}

function sendFramed(peer: TerminalPeer, data: string): void {
  for (let at = 0; at < data.length; at += OUTPUT_FRAME_CHARS) peer.send({ type: "output", data: data.slice(at, at + OUTPUT_FRAME_CHARS) });
}

/**
 * Every live terminal of this process: its shell in the sandbox, its scrollback, the one socket attached
 * to it (a new attach replaces it: a reconnect after a network drop), its idle timer and its backups.
 * Sockets attach with single-use tickets that {@link open} hands out; the sockets live where the shells
 * do, in this process. A terminal ends with its shell, its idle timeout, or its workspace's stop/delete.
 */
export class TerminalSessions {
  private readonly sessions = new Map<string, Session>();
  private readonly tickets = new Map<string, Ticket>();

  constructor(
    private readonly deps: { provider: SandboxProvider; limits: TerminalLimits; log: Logger; backup?: TerminalBackup; now?: () => number },
  ) {}

  private now(): number {
    return this.deps.now?.() ?? Date.now();
  }

  /** The largest message a terminal socket takes (an input of {@link TerminalLimits.maxInputBytes} in JSON). */
  get maxMessageBytes(): number {
    return this.deps.limits.maxInputBytes * 6 + 1024;
  }

  /** A new terminal in the sandbox (or the live one named, for a reconnect) and a ticket to attach to it. */
  async open(target: TerminalTarget): Promise<TerminalTicket> {
    const session = target.terminalId === undefined ? await this.start(target) : this.owned(target.terminalId, target.workspaceId, target.userID);
    return this.ticket(session);
  }

  /** The live terminals of a workspace. */
  list(workspaceId: string): TerminalList {
    const terminals = [...this.sessions.values()]
      .filter((s) => s.workspaceId === workspaceId)
      .map((s) => ({ terminalId: s.id, createdAt: s.createdAt.toISOString(), attached: s.peer !== undefined }));
    return { terminals };
  }

  /** Checks a socket's ticket before it upgrades and spends it: unknown, used or expired is 401; a terminal gone since is 404. */
  redeem(handshake: TerminalHandshake): RedeemedTicket {
    const ticket = typeof handshake.ticket === "string" ? this.tickets.get(handshake.ticket) : undefined;
    if (!ticket || ticket.expiresAt <= this.now()) {
      throw new AppError("unauthenticated", "a terminal socket needs a valid ticket (POST /projects/:id/terminals gives one; each opens one socket, for a short time)");
    }
    if (ticket.terminalId !== handshake.terminalId || ticket.workspaceId !== handshake.id) throw notFound("terminal", String(handshake.terminalId));
    this.tickets.delete(handshake.ticket);
    const session = this.sessions.get(ticket.terminalId);
    if (!session || session.ended) throw notFound("terminal", ticket.terminalId);
    return { terminalId: session.id };
  }

  /** Attaches a socket to a redeemed terminal: the scrollback first, then live output; a previous socket is closed. */
  attach(redeemed: RedeemedTicket, peer: TerminalPeer): TerminalAttachment {
    const session = this.sessions.get(redeemed.terminalId);
    if (!session || session.ended) {
      peer.send({ type: "closed", reason: "stopped", message: "the terminal has ended" });
      peer.close();
      return { receive: async () => {}, detach: () => {} };
    }
    if (session.peer) this.dismiss(session.peer, "replaced", "the terminal was opened in another window");
    session.peer = peer;
    if (session.scrollback) sendFramed(peer, session.scrollback);
    return {
      receive: (message) => this.receive(session, peer, message),
      detach: () => {
        if (session.peer === peer) session.peer = undefined;
      },
    };
  }

  /** Closes the terminals of a workspace (its stop or delete), after a last backup of their files. */
  async closeWorkspace(workspaceId: string): Promise<void> {
    const closing = [...this.sessions.values()].filter((s) => s.workspaceId === workspaceId);
    await Promise.all(closing.map((s) => this.end(s, "stopped", "the workspace was stopped")));
  }

  /** Closes every terminal (the server is stopping). */
  async closeAll(): Promise<void> {
    await Promise.all([...this.sessions.values()].map((s) => this.end(s, "stopped", "the server is stopping")));
  }

  private async start(target: TerminalTarget): Promise<Session> {
    const { rows, cols } = checkTerminalSize(target.rows ?? 24, target.cols ?? 80);
    const { limits } = this.deps;
    const live = [...this.sessions.values()].filter((s) => s.workspaceId === target.workspaceId).length;
    if (live >= limits.perWorkspace) {
      throw new AppError("resource_exhausted", `workspace ${target.workspaceId} already has ${live} terminals open, the most it may (KILN_TERMINALS_PER_WORKSPACE); close one first`, { limit: limits.perWorkspace });
    }
    const id = `trm_${randomBytes(12).toString("hex")}`;
    let session: Session | undefined;
    const early: Buffer[] = [];
    const terminal = await this.deps.provider.openTerminal(target.sandboxId, {
      rows,
      cols,
      onOutput: (chunk) => (session ? this.output(session, chunk) : early.push(chunk)),
      onExit: (exitCode) => {
        if (session) void this.exited(session, exitCode);
      },
    });
    session = {
      id,
      workspaceId: target.workspaceId,
      projectId: target.projectId,
      userID: target.userID,
      createdAt: new Date(this.now()),
      terminal,
      decoder: new StringDecoder("utf8"),
      scrollback: "",
      dirty: false,
      ended: false,
      idle: this.idleTimer(id),
      backups: setInterval(() => void this.backup(session!), limits.backupIntervalMs).unref(),
    };
    this.sessions.set(id, session);
    for (const chunk of early) this.output(session, chunk);
    this.deps.log.info("terminal opened", { terminalId: id, workspaceId: target.workspaceId });
    return session;
  }

  private owned(terminalId: string, workspaceId: string, userID: string): Session {
    const session = this.sessions.get(terminalId);
    if (!session || session.ended || session.workspaceId !== workspaceId || session.userID !== userID) throw notFound("terminal", terminalId);
    return session;
  }

  private ticket(session: Session): TerminalTicket {
    const now = this.now();
    for (const [key, ticket] of this.tickets) if (ticket.expiresAt <= now) this.tickets.delete(key);
    const ticket = randomBytes(24).toString("base64url");
    const expiresAt = now + TICKET_TTL_MS;
    this.tickets.set(ticket, { terminalId: session.id, workspaceId: session.workspaceId, userID: session.userID, expiresAt });
    return {
      terminalId: session.id,
      ticket,
      expiresAt: new Date(expiresAt).toISOString(),
      socketPath: `/workspaces/${encodeURIComponent(session.workspaceId)}/terminals/${session.id}/socket`,
    };
  }

  private idleTimer(id: string): NodeJS.Timeout {
    return setTimeout(() => {
      const session = this.sessions.get(id);
      if (session) void this.end(session, "idle", `the terminal had no input for ${Math.round(this.deps.limits.idleTimeoutMs / 1000)} s (KILN_TERMINAL_IDLE_TIMEOUT_MS)`);
    }, this.deps.limits.idleTimeoutMs).unref();
  }

  private output(session: Session, chunk: Buffer): void {
    const text = session.decoder.write(chunk);
    if (!text) return;
    const keep = this.deps.limits.scrollbackBytes;
    session.scrollback = (session.scrollback + text).slice(-keep);
    if (session.peer) sendFramed(session.peer, text);
  }

  private async receive(session: Session, peer: TerminalPeer, raw: unknown): Promise<void> {
    if (session.peer !== peer || session.ended) return;
    const message = raw as { type?: unknown; data?: unknown; rows?: unknown; cols?: unknown } | null;
    try {
      if (message?.type === "input" && typeof message.data === "string") {
        const bytes = Buffer.from(message.data, "utf8");
        if (bytes.length > this.deps.limits.maxInputBytes) {
          return this.dismiss(peer, "limit", `an input of ${bytes.length} bytes is over the limit of ${this.deps.limits.maxInputBytes} (KILN_TERMINAL_MAX_INPUT_BYTES): paste less at once`);
        }
        clearTimeout(session.idle);
        session.idle = this.idleTimer(session.id);
        session.dirty = true;
        await session.terminal.write(bytes);
      } else if (message?.type === "resize") {
        const { rows, cols } = checkTerminalSize(message.rows, message.cols);
        await session.terminal.resize(rows, cols);
      } else {
        this.dismiss(peer, "error", 'a terminal message is {"type":"input","data":"..."} or {"type":"resize","rows":N,"cols":N}');
      }
    } catch (err) {
      this.dismiss(peer, "error", err instanceof AppError ? err.message : "the terminal did not take the message");
    }
  }

  private dismiss(peer: TerminalPeer, reason: TerminalCloseReason, message: string): void {
    for (const session of this.sessions.values()) if (session.peer === peer) session.peer = undefined;
    peer.send({ type: "closed", reason, message });
    peer.close();
  }

  private async exited(session: Session, exitCode: number | null): Promise<void> {
    if (session.ended) return;
    const tail = session.decoder.end();
    if (tail && session.peer) sendFramed(session.peer, tail);
    session.peer?.send({ type: "exit", exitCode });
    session.peer?.close();
    session.peer = undefined;
    await this.end(session, "stopped", "the shell ended");
  }

  /** Ends a terminal once: its shell killed, its socket told why, its files backed up. */
  private async end(session: Session, reason: TerminalCloseReason, message: string): Promise<void> {
    if (session.ended) return;
    session.ended = true;
    this.sessions.delete(session.id);
    clearTimeout(session.idle);
    clearInterval(session.backups);
    if (session.peer) this.dismiss(session.peer, reason, message);
    await session.terminal.close().catch(() => undefined);
    await this.backup(session);
    this.deps.log.info("terminal closed", { terminalId: session.id, workspaceId: session.workspaceId, reason });
  }

  /** Backs the workspace up when the terminal had input since the last time; a failure is logged and retried at the next. */
  private async backup(session: Session): Promise<void> {
    if (!session.dirty || !this.deps.backup) return;
    session.dirty = false;
    try {
      await this.deps.backup({ projectId: session.projectId, workspaceId: session.workspaceId, userID: session.userID });
    } catch (err) {
      session.dirty = true;
      this.deps.log.warn("backing up a terminal's files failed; trying again later", { terminalId: session.id, ...errorFields(err) });
    }
  }
}
