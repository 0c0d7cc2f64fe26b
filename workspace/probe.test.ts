import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import { probeHttp } from "./probe";

const servers: Array<{ close(): void }> = [];
afterEach(() => {
  for (const server of servers.splice(0)) server.close();
});

/** A server answering every request with `answer`; the requests it saw. */
async function serve(answer: (req: IncomingMessage, res: ServerResponse, count: number) => void): Promise<{ url: string; seen: IncomingMessage[] }> {
  const seen: IncomingMessage[] = [];
  const server = createServer((req, res) => {
    seen.push(req);
    answer(req, res, seen.length);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  servers.push({
    close: () => {
      server.closeAllConnections();
      server.close();
    },
  });
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, seen };
}

const envelope = (status: number, code: string) => (_req: IncomingMessage, res: ServerResponse) =>
  res.writeHead(status, { "content-type": "application/json" }).end(JSON.stringify({ statusCode: status, code, message: `${code} message`, source: "DAYTONA_PROXY" }));

describe("the preview probe", () => {
  it("counts the app's own answers below 500 as up, even a 401 of its own", async () => {
    const app = await serve((_req, res) => res.writeHead(401, { "content-type": "application/json" }).end('{"error":"login first"}'));
    expect(await probeHttp({ url: app.url }, { timeoutMs: 2000 })).toEqual({ ok: true, status: 401 });
    expect(app.seen[0]!.headers["x-daytona-skip-preview-warning"]).toBe("true");
  });

  it("rejects Daytona's own 401 and 400 pages at once, with what they said", async () => {
    for (const [status, code] of [[401, "UNAUTHORIZED"], [400, "SANDBOX_NOT_STARTED"], [404, "SANDBOX_NOT_FOUND"]] as const) {
      const proxy = await serve(envelope(status, code));
      const started = Date.now();
      expect(await probeHttp({ url: proxy.url }, { timeoutMs: 5000 })).toEqual({ ok: false, problem: `Daytona's preview proxy answered HTTP ${status} (${code}: ${code} message)` });
      expect(Date.now() - started).toBeLessThan(1000);
    }
  });

  it("waits through the proxy's 502 until the app answers", async () => {
    const proxy = await serve((req, res, count) => (count < 3 ? envelope(502, "RUNNER_UNREACHABLE")(req, res) : res.end("the app")));
    expect(await probeHttp({ url: proxy.url }, { timeoutMs: 5000 })).toEqual({ ok: true, status: 200 });
    expect(proxy.seen).toHaveLength(3);
  });

  it("rejects a redirect to another host (a login page) and Daytona's warning page", async () => {
    const login = await serve((_req, res) => res.writeHead(307, { location: "https://app.daytona.io/login?redirect=x" }).end());
    expect(await probeHttp({ url: login.url }, { timeoutMs: 2000 })).toEqual({ ok: false, problem: expect.stringContaining("redirects to https://app.daytona.io") });
    const warning = await serve((_req, res) => res.writeHead(200, { "content-type": "text/html" }).end("<html><head><title>Daytona Preview - Warning</title></head></html>"));
    expect(await probeHttp({ url: warning.url }, { timeoutMs: 2000 })).toEqual({ ok: false, problem: "Daytona's preview warning page answered instead of the app" });
    const local = await serve((_req, res) => res.writeHead(302, { location: "/login" }).end());
    expect(await probeHttp({ url: local.url }, { timeoutMs: 2000 })).toEqual({ ok: true, status: 302 });
  });

  it("reads only the start of a body that never ends", async () => {
    const endless = await serve((_req, res) => {
      res.writeHead(200, { "content-type": "text/plain" });
      const timer = setInterval(() => res.write(Buffer.alloc(16 * 1024, 97)), 1);
      res.on("close", () => clearInterval(timer));
    });
    expect(await probeHttp({ url: endless.url }, { timeoutMs: 3000 })).toEqual({ ok: true, status: 200 });
  });
});
