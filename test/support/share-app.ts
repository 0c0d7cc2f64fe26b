import http from "node:http";
import { randomBytes } from "node:crypto";
import type { ProjectsApi } from "../../projects/contract";
import type { WorkspaceApi } from "../../workspace/contract";
import { runningWorkspace } from "./kiln";

/**
 * A tiny app for share-link tests, run as a workspace's dev server: a page that names its modules
 * from the root (as Vite's does), a module that imports another, an echo of the request it got
 * (method, headers, body), redirects (to its own host and to another), and a WebSocket that greets
 * with the app's name.
 */
export function shareTestApp(name: string): string {
  return `import http from "node:http";
import { createHash } from "node:crypto";
const NAME = ${JSON.stringify(name)};
const server = http.createServer((req, res) => {
  const send = (status, type, body, headers = {}) => { res.writeHead(status, { "content-type": type, ...headers }); res.end(body); };
  if (req.url === "/") return send(200, "text/html", '<!doctype html><script type="module" src="/src/main.js"></script><h1>' + NAME + '</h1>', { "set-cookie": "app=1" });
  if (req.url === "/src/main.js") return send(200, "text/javascript", 'import dep from "/src/dep.js";\\nconst later = () => import("/src/lazy.js");\\n');
  if (req.url === "/echo") {
    const chunks = [];
    req.on("data", (c) => chunks.push(c));
    req.on("end", () => send(200, "application/json", JSON.stringify({ name: NAME, method: req.method, url: req.url, headers: req.headers, body: Buffer.concat(chunks).toString("utf8") })));
    return;
  }
  if (req.url === "/home") return send(302, "text/plain", "", { location: "http://" + req.headers.host + "/src/main.js" });
  if (req.url === "/away") return send(302, "text/plain", "", { location: "http://example.invalid/elsewhere" });
  send(200, "text/plain", "app " + NAME + " path " + req.url);
});
server.on("upgrade", (req, socket) => {
  const accept = createHash("sha1").update(req.headers["sec-websocket-key"] + "258EAFA5-E914-47DA-95CA-C5AB0DC85B11").digest("base64");
  socket.write("HTTP/1.1 101 Switching Protocols\\r\\nUpgrade: websocket\\r\\nConnection: Upgrade\\r\\nSec-WebSocket-Accept: " + accept + "\\r\\n\\r\\n");
  const text = Buffer.from("hmr " + NAME + " " + req.url);
  socket.write(Buffer.concat([Buffer.from([0x81, text.length]), text]));
});
server.listen(Number(process.env.PORT), "0.0.0.0");
`;
}

/** Opens a WebSocket at `base` + `path` (extra headers, such as Host or Cookie), and resolves with the first text frame, or the HTTP status that refused it. */
export function firstFrame(base: string, path: string, headers: Record<string, string> = {}): Promise<{ status: number; message?: string }> {
  const { hostname, port } = new URL(base);
  return new Promise((resolve, reject) => {
    const upgrade = { connection: "Upgrade", upgrade: "websocket", "sec-websocket-version": "13", "sec-websocket-key": randomBytes(16).toString("base64") };
    const req = http.request({ hostname, port, path, headers: { ...upgrade, ...headers } });
    req.on("upgrade", (res, sock, head: Buffer) => {
      const first = (frame: Buffer) => {
        resolve({ status: res.statusCode!, message: frame.subarray(2, 2 + frame[1]!).toString("utf8") });
        sock.destroy();
      };
      if (head.length) first(head);
      else sock.once("data", first);
    });
    req.on("response", (res) => {
      res.resume();
      resolve({ status: res.statusCode! });
    });
    req.on("error", reject);
    req.end();
  });
}

/** A new project of `auth`'s whose workspace runs the share test app named `name` as its dev server; its id. */
export async function projectRunningShareApp(projects: ProjectsApi, workspace: WorkspaceApi, auth: { userID: string }, name: string): Promise<string> {
  const projectId = (await projects.create({ name, template: "blank" }, auth)).id;
  const ws = await runningWorkspace(workspace, projectId);
  await workspace.writeFiles({ id: ws.id, files: [{ path: "app.mjs", contentBase64: Buffer.from(shareTestApp(name)).toString("base64") }] });
  const dev = await workspace.ensureDevServer({ id: ws.id, command: "node app.mjs" });
  if (!dev.ok) throw new Error(`the share test app did not start: ${dev.problem}\n${dev.logTail}`);
  await projects.recordActivity({ id: projectId, workspaceId: ws.id, previewUrl: dev.previewUrl });
  return projectId;
}
