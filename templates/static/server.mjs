// A dev server for this static site, with no dependencies: serves the files of this directory,
// and reloads open pages when a file changes. Kiln runs it with PORT set; leave host and port as they are.
import { watch } from "node:fs";
import { readFile, realpath, stat } from "node:fs/promises";
import { createServer } from "node:http";
import { extname, join, resolve, sep } from "node:path";
import { fileURLToPath } from "node:url";

const ROOT = fileURLToPath(new URL(".", import.meta.url)).replace(/[\\/]$/, "");
const PORT = Number(process.env.PORT) || 3000;
const RELOAD_PATH = "/__kiln/reload";
/** Changes that never reload the page: dependencies, dot-files and folders (.git, editor state), logs. */
const IGNORED = /(^|[\\/])(node_modules|\.[^\\/]*)([\\/]|$)|\.log$/;

const TYPES = {
  ".html": "text/html; charset=utf-8",
  ".css": "text/css; charset=utf-8",
  ".js": "text/javascript; charset=utf-8",
  ".mjs": "text/javascript; charset=utf-8",
  ".json": "application/json; charset=utf-8",
  ".txt": "text/plain; charset=utf-8",
  ".svg": "image/svg+xml",
  ".png": "image/png",
  ".jpg": "image/jpeg",
  ".jpeg": "image/jpeg",
  ".gif": "image/gif",
  ".webp": "image/webp",
  ".avif": "image/avif",
  ".ico": "image/x-icon",
  ".woff": "font/woff",
  ".woff2": "font/woff2",
  ".mp3": "audio/mpeg",
  ".mp4": "video/mp4",
  ".wasm": "application/wasm",
};

const RELOAD_SCRIPT = `<script>new EventSource("${RELOAD_PATH}").addEventListener("reload", () => location.reload());</script>`;

/** Open live-reload streams, told when any file changes. */
const clients = new Set();
let pending;
watch(ROOT, { recursive: true }, (_event, file) => {
  if (file && IGNORED.test(file)) return;
  clearTimeout(pending);
  pending = setTimeout(() => {
    for (const res of clients) res.write("event: reload\ndata: {}\n\n");
  }, 50);
});
setInterval(() => {
  for (const res of clients) res.write(": keep-alive\n\n");
}, 25_000).unref();

/** The file a URL path names, or null when it does not exist or lies outside this directory. */
async function locate(urlPath) {
  let path;
  try {
    path = decodeURIComponent(urlPath);
  } catch {
    return null;
  }
  if (path.includes("\0")) return null;
  let file = resolve(ROOT, "." + path);
  if (file !== ROOT && !file.startsWith(ROOT + sep)) return null;
  try {
    if ((await stat(file)).isDirectory()) file = join(file, "index.html");
    const real = await realpath(file);
    if (real !== ROOT && !real.startsWith(ROOT + sep)) return null;
    return (await stat(real)).isFile() ? real : null;
  } catch {
    return null;
  }
}

/** HTML with the live-reload script added before </body> (or at the end). */
function withReload(html) {
  const at = html.lastIndexOf("</body>");
  return at === -1 ? html + RELOAD_SCRIPT : html.slice(0, at) + RELOAD_SCRIPT + html.slice(at);
}

async function send(req, res, status, file) {
  const type = TYPES[extname(file).toLowerCase()] ?? "application/octet-stream";
  let body = await readFile(file);
  if (type.startsWith("text/html")) body = Buffer.from(withReload(body.toString("utf8")));
  res.writeHead(status, { "Content-Type": type, "Content-Length": body.length, "Cache-Control": "no-store" });
  res.end(req.method === "HEAD" ? undefined : body);
}

const server = createServer(async (req, res) => {
  try {
    const { pathname } = new URL(req.url ?? "/", "http://localhost");
    if (req.method !== "GET" && req.method !== "HEAD") {
      res.writeHead(405, { Allow: "GET, HEAD" }).end();
      return;
    }
    if (pathname === RELOAD_PATH) {
      res.writeHead(200, { "Content-Type": "text/event-stream", "Cache-Control": "no-store", Connection: "keep-alive" });
      res.write(": connected\n\n");
      clients.add(res);
      req.on("close", () => clients.delete(res));
      return;
    }
    const file = await locate(pathname);
    if (file) return await send(req, res, 200, file);
    const notFound = await locate("/404.html");
    if (notFound) return await send(req, res, 404, notFound);
    res.writeHead(404, { "Content-Type": "text/plain; charset=utf-8" }).end("Not found\n");
  } catch (err) {
    console.error(err);
    if (!res.headersSent) res.writeHead(500, { "Content-Type": "text/plain; charset=utf-8" });
    res.end("Internal error\n");
  }
});

server.listen(PORT, "0.0.0.0", () => console.log(`Serving ${ROOT} on http://0.0.0.0:${PORT}/`));
