/**
 * The fake's preview proxy, Daytona's `https://{port}-{sandboxId | signed token}.proxy…` host names on
 * 127.0.0.1: each name gets its own listening port (a browser cannot resolve made-up host names, and an
 * app's absolute paths must keep working), and every request there is decided by the name's owner:
 * forwarded to the sandbox's dev server, or answered with one of the proxy's own pages.
 */
import { createServer, request, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import { connect, type AddressInfo, type Socket } from "node:net";

/** What the proxy does with one request: forward it to a port of this machine, or answer it itself. */
export type ProxyDecision = { forwardTo: number } | { page: ProxyPage };

/** An answer of the proxy itself. */
export interface ProxyPage {
  status: number;
  headers: Record<string, string>;
  body: string;
}

/** Decides a request to the host name `key` (`{port}-{id or token}`). */
export type ProxyDecider = (key: string, req: IncomingMessage) => Promise<ProxyDecision>;

/** The proxy's JSON error envelope (common-go's ErrorResponse, `source: DAYTONA_PROXY`). */
export function proxyError(status: number, code: string, message: string, req: IncomingMessage): ProxyPage {
  const body = { statusCode: status, message, code, source: "DAYTONA_PROXY", timestamp: new Date().toISOString(), path: req.url ?? "/", method: req.method ?? "GET" };
  return { status, headers: { "content-type": "application/json" }, body: JSON.stringify(body) };
}

/** The cookie a browser gets once it accepted the warning page. */
export const WARNING_ACCEPTED_COOKIE = "daytona-preview-page-accepted";
/** Where the warning page's button goes. */
export const ACCEPT_WARNING_PATH = "/accept-daytona-preview-warning";

/** Daytona's interstitial for browsers on Tier 1/2 previews (the real one's title and wording, trimmed). */
export function warningPage(req: IncomingMessage): ProxyPage {
  const target = `http://${req.headers.host ?? ""}${req.url ?? "/"}`;
  const action = `${ACCEPT_WARNING_PATH}?redirect=${encodeURIComponent(target)}`;
  const body =
    `<!doctype html><html lang="en"><head><meta charset="utf-8" /><title>Daytona Preview - Warning</title></head><body>` +
    `<h1 class="warning-title">Preview URL Warning</h1><p>You are about to visit <strong>${escapeHtml(target)}</strong></p>` +
    `<p>This website is served through daytona.io. You should only visit it if you trust whoever sent the link.</p>` +
    `<form action="${escapeHtml(action)}" method="POST"><button type="submit">I Understand, Continue</button></form></body></html>`;
  return { status: 200, headers: { "content-type": "text/html; charset=utf-8" }, body };
}

/** The answer to the warning page's button: the cookie, and back to where the browser was going. */
export function acceptWarning(req: IncomingMessage): ProxyPage {
  const redirect = new URL(req.url ?? "/", "http://proxy").searchParams.get("redirect") ?? "/";
  const cookie = `${WARNING_ACCEPTED_COOKIE}=true; Max-Age=86400; Path=/; HttpOnly; SameSite=Lax`;
  return { status: 302, headers: { location: redirect.startsWith("http://127.0.0.1:") ? redirect : "/", "set-cookie": cookie }, body: "" };
}

function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (char) => `&#${char.charCodeAt(0)};`);
}

/** Whether a User-Agent is one of the browsers Daytona shows its warning to. */
export function isBrowser(userAgent: string | undefined): boolean {
  return /^Mozilla\/5\.0 /.test(userAgent ?? "") && /(Chrome|Firefox|Safari|Edg|OPR)\//.test(userAgent ?? "");
}

/** Request headers the proxy consumes and never passes to the app. */
const CONSUMED = ["x-daytona-preview-token", "x-daytona-skip-preview-warning", "x-daytona-skip-last-activity-update"];

function forward(req: IncomingMessage, res: ServerResponse, port: number, unreachable: () => ProxyPage): void {
  const headers = { ...req.headers };
  for (const name of CONSUMED) delete headers[name];
  const upstream = request({ host: "127.0.0.1", port, method: req.method, path: req.url, headers }, (answer) => {
    res.writeHead(answer.statusCode ?? 502, answer.headers);
    answer.pipe(res);
  });
  upstream.on("error", () => {
    if (res.headersSent) return void res.destroy();
    const page = unreachable();
    res.writeHead(page.status, page.headers).end(page.body);
  });
  req.pipe(upstream);
}

/** Pipes a WebSocket upgrade to the dev server as it came (Vite's HMR goes through Daytona's proxy too). */
function forwardUpgrade(req: IncomingMessage, socket: Socket, head: Buffer, port: number): void {
  const upstream = connect(port, "127.0.0.1", () => {
    const lines = [`${req.method} ${req.url} HTTP/1.1`];
    for (let i = 0; i < req.rawHeaders.length; i += 2) {
      if (!CONSUMED.includes(req.rawHeaders[i]!.toLowerCase())) lines.push(`${req.rawHeaders[i]}: ${req.rawHeaders[i + 1]}`);
    }
    upstream.write(`${lines.join("\r\n")}\r\n\r\n`);
    upstream.write(head);
    upstream.pipe(socket).pipe(upstream);
  });
  upstream.on("error", () => socket.destroy());
  socket.on("error", () => upstream.destroy());
}

/** The listeners of the proxy, one per host name, opened on first use. */
export class PreviewProxy {
  private readonly listeners = new Map<string, Promise<{ server: Server; url: string; sockets: Set<Socket> }>>();

  constructor(private readonly decide: ProxyDecider) {}

  /** The URL standing for `https://{key}.proxy…`: `http://127.0.0.1:<its own port>`. */
  async urlFor(key: string): Promise<string> {
    let listener = this.listeners.get(key);
    if (!listener) {
      listener = this.listen(key);
      this.listeners.set(key, listener);
    }
    return (await listener).url;
  }

  private async listen(key: string): Promise<{ server: Server; url: string; sockets: Set<Socket> }> {
    const sockets = new Set<Socket>();
    const server = createServer((req, res) => {
      this.decide(key, req).then(
        (decision) => {
          if ("page" in decision) res.writeHead(decision.page.status, decision.page.headers).end(decision.page.body);
          else forward(req, res, decision.forwardTo, () => proxyError(502, "RUNNER_UNREACHABLE", `runner is unreachable: nothing listens on port ${key.split("-")[0]}`, req));
        },
        (err: Error) => res.writeHead(500, { "content-type": "application/json" }).end(JSON.stringify({ statusCode: 500, message: err.message })),
      );
    });
    server.on("upgrade", (req: IncomingMessage, socket: Socket, head: Buffer) => {
      this.decide(key, req).then(
        (decision) => ("forwardTo" in decision ? forwardUpgrade(req, socket, head, decision.forwardTo) : socket.end(`HTTP/1.1 ${decision.page.status} Refused\r\n\r\n`)),
        () => socket.destroy(),
      );
    });
    server.on("connection", (socket) => {
      sockets.add(socket);
      socket.on("close", () => sockets.delete(socket));
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    return { server, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, sockets };
  }

  /** The host names listened for. */
  keys(): string[] {
    return [...this.listeners.keys()];
  }

  /** Stops listening for one host name (a revoked or expired signed URL stays answered until then). */
  async close(key: string): Promise<void> {
    const listener = this.listeners.get(key);
    this.listeners.delete(key);
    if (!listener) return;
    const { server, sockets } = await listener;
    await new Promise<void>((resolve) => {
      server.close(() => resolve());
      for (const socket of sockets) socket.destroy();
    });
  }

  /** Stops every listener. */
  async closeAll(): Promise<void> {
    await Promise.all([...this.listeners.keys()].map((key) => this.close(key)));
  }
}
