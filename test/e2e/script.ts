/** The scripted agent sessions the dashboard's browser tests replay through the fake Messages API. */
import { text, toolUse, type Turn } from "../fakes/anthropic/server";

export const PAGE_HEADING = "Hello from the e2e agent";
export const UPDATED_HEADING = "Hello again, with a follow-up";

export function page(heading: string): string {
  return `<!doctype html>
<html lang="en">
  <head>
    <meta charset="utf-8" />
    <title>${heading}</title>
    <link rel="icon" href="data:," />
    <style>
      body { font-family: system-ui, sans-serif; display: grid; place-items: center; min-height: 100vh; margin: 0; background: #fff7ed; }
      h1 { color: #c2410c; }
    </style>
  </head>
  <body>
    <main>
      <h1>${heading}</h1>
      <p>Served by a tiny Node server the scripted agent wrote.</p>
    </main>
  </body>
</html>
`;
}

export const SERVER_JS = `const http = require("node:http");
const fs = require("node:fs");
const path = require("node:path");

const port = Number(process.env.PORT) || 3000;
http
  .createServer((req, res) => {
    res.writeHead(200, { "content-type": "text/html; charset=utf-8" });
    res.end(fs.readFileSync(path.join(__dirname, "index.html")));
  })
  .listen(port, () => console.log("listening on " + port));
`;

export const FIRST_SUMMARY = "A welcome page served by a small Node server.";

/** The first generation: two files, a command, then completion with the dev command. */
export const buildSession: Turn[] = [
  { content: [text("I'll build a small page and a Node server to serve it. First the page."), toolUse("write_to_file", { path: "index.html", content: page(PAGE_HEADING) })], chunkDelayMs: 5 },
  { content: [text("Now the server, listening on the PORT Kiln gives it."), toolUse("write_to_file", { path: "server.js", content: SERVER_JS })] },
  { content: [text("Let me check the server's syntax."), toolUse("execute_command", { command: "node --check server.js && ls" })] },
  { content: [text("Everything checks out. Starting the preview."), toolUse("attempt_completion", { summary: FIRST_SUMMARY, dev_command: "node server.js" })] },
];

/** A follow-up: read the page, rewrite its heading, complete again. */
export const followUpSession: Turn[] = [
  { content: [text("Let me look at the current page."), toolUse("read_file", { path: "index.html" })] },
  { content: [text("Changing the heading."), toolUse("write_to_file", { path: "index.html", content: page(UPDATED_HEADING) })] },
  { content: [toolUse("attempt_completion", { summary: "Changed the heading as asked.", dev_command: "node server.js" })] },
];

/** A long-running command, so the test can drop the network and cancel while it runs. */
export const slowSession: Turn[] = [{ content: [text("Installing dependencies; this takes a while."), toolUse("execute_command", { command: "sleep 60", timeout_seconds: 120 })] }];
