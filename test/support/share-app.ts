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
