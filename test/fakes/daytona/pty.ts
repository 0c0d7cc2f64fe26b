import type { IncomingMessage } from "node:http";
import type { Duplex } from "node:stream";
import { WebSocketServer, type WebSocket } from "ws";
import type { SandboxTerminal } from "../../../workspace/sandbox/provider";
import { daemonError, json, localPath, type Reply, type ToolboxRequest } from "./daemon";
import type { FakeContext, FakeSandbox } from "./state";

/** The subprotocol with which the SDK asks for `{type:"control",status:"exited"}` before the socket closes. */
const EXIT_CONTROL = "X-Daytona-Pty-Exit-Control";
const CREATE_CONNECT = /^\/toolbox\/([^/]+)\/process\/pty\/create-connect$/;

/** One PTY session of a fake sandbox: a terminal of the local sandbox behind it. */
interface FakePty {
  sandboxId: string;
  terminal: SandboxTerminal;
  cols: number;
  rows: number;
}

/**
 * Daytona's PTY sessions as the SDK's `createPty` speaks to them (0.218.0): a WebSocket upgrade of
 * `/toolbox/<id>/process/pty/create-connect?id&cols&rows&cwd` with the API key as bearer token and the
 * envs in an `X-Daytona-Pty-Envs~<base64url JSON>` subprotocol; a text `{"type":"control","status":
 * "connected"}` once the shell runs; binary frames both ways (input, output); `exited` with the exit
 * code, then a close whose reason is `{"exitCode":N}`. Resize (`POST process/pty/<id>/resize`) and kill
 * (`DELETE process/pty/<id>`) are toolbox requests. Each PTY is a terminal of the local sandbox.
 */
export class FakePtys {
  private readonly ptys = new Map<string, FakePty>();
  private readonly wss = new WebSocketServer({ noServer: true, handleProtocols: (offered) => (offered.has(EXIT_CONTROL) ? EXIT_CONTROL : false) });
  /** The headers of every PTY upgrade, so a test can see what reached Daytona. */
  readonly upgrades: IncomingMessage["headers"][] = [];

  constructor(
    private readonly ctx: FakeContext,
    private readonly find: (id: string) => FakeSandbox | undefined,
    private readonly apiKey: string,
  ) {}

  /** The ids of a sandbox's live PTY sessions. */
  live(sandboxId: string): string[] {
    return [...this.ptys].filter(([, pty]) => pty.sandboxId === sandboxId).map(([id]) => id);
  }

  /** Takes a PTY upgrade (true), or leaves the request to others (false). */
  upgrade(req: IncomingMessage, socket: Duplex, head: Buffer): boolean {
    const url = new URL(req.url ?? "/", "http://fake");
    const match = CREATE_CONNECT.exec(url.pathname);
    if (!match) return false;
    this.upgrades.push(req.headers);
    const refuse = (status: number, message: string) => socket.end(`HTTP/1.1 ${status} ${message}\r\nContent-Length: 0\r\n\r\n`);
    if (req.headers.authorization !== `Bearer ${this.apiKey}`) return (refuse(401, "Unauthorized"), true);
    const sandbox = this.find(decodeURIComponent(match[1]!));
    if (!sandbox || sandbox.state !== "started") return (refuse(404, "Not Found"), true);
    const id = url.searchParams.get("id") ?? "";
    const cols = Number(url.searchParams.get("cols") ?? 80);
    const rows = Number(url.searchParams.get("rows") ?? 24);
    if (!/^[A-Za-z0-9_-]{1,100}$/.test(id) || this.ptys.has(id)) return (refuse(400, "Bad Request"), true);
    this.wss.handleUpgrade(req, socket, head, (ws) => void this.connect(ws, sandbox, id, { cols, rows, cwd: url.searchParams.get("cwd") ?? undefined }));
    return true;
  }

  private async connect(ws: WebSocket, sandbox: FakeSandbox, id: string, size: { cols: number; rows: number; cwd?: string }): Promise<void> {
    const exitControl = ws.protocol === EXIT_CONTROL;
    let terminal: SandboxTerminal;
    try {
      const cwd = size.cwd === undefined ? undefined : localPath(sandbox, size.cwd);
      terminal = await this.ctx.local.openTerminal(sandbox.localId, {
        rows: size.rows,
        cols: size.cols,
        cwd,
        onOutput: (chunk) => ws.send(chunk, { binary: true }),
        onExit: (exitCode) => {
          this.ptys.delete(id);
          const code = exitCode ?? -1;
          if (exitControl) ws.send(JSON.stringify({ type: "control", status: "exited", exitCode: code }));
          ws.close(1000, JSON.stringify({ exitCode: code }));
        },
      });
    } catch (err) {
      ws.send(JSON.stringify({ type: "control", status: "error", error: (err as Error).message }));
      ws.close(1011);
      return;
    }
    this.ptys.set(id, { sandboxId: sandbox.id, terminal, cols: size.cols, rows: size.rows });
    ws.on("message", (data: Buffer) => void terminal.write(Buffer.from(data)).catch(() => undefined));
    ws.send(JSON.stringify({ type: "control", status: "connected" }));
  }

  /** The PTY toolbox requests (resize, kill); undefined for any other route. */
  async route(sandbox: FakeSandbox, req: ToolboxRequest): Promise<Reply | undefined> {
    const match = /^process\/pty\/([^/]+)(\/resize)?$/.exec(req.route);
    if (!match) return undefined;
    const pty = this.ptys.get(decodeURIComponent(match[1]!));
    if (!pty || pty.sandboxId !== sandbox.id) return daemonError(404, "PTY_NOT_FOUND", `PTY session ${match[1]} not found`);
    if (match[2] && req.method === "POST") {
      const { cols, rows } = json(req.body) as { cols?: unknown; rows?: unknown };
      if (typeof cols !== "number" || typeof rows !== "number") return daemonError(400, "INVALID_REQUEST", "cols and rows must be numbers");
      await pty.terminal.resize(rows, cols);
      Object.assign(pty, { cols, rows });
      return { status: 200, json: { id: match[1], cols, rows, active: true } };
    }
    if (!match[2] && req.method === "DELETE") {
      this.ptys.delete(match[1]!);
      await pty.terminal.close();
      return { status: 200, json: {} };
    }
    return undefined;
  }

  /** Ends every PTY (the fake is closing). */
  async close(): Promise<void> {
    await Promise.all([...this.ptys.values()].map((pty) => pty.terminal.close().catch(() => undefined)));
    this.ptys.clear();
    this.wss.close();
  }
}
