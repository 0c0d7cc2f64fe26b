/** The scripted agent sessions the dashboard's browser tests replay through the fake Messages API. */
import { text, toolUse, type ScriptFunction, type Turn } from "../fakes/anthropic/server";

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

/**
 * A session whose turn `at` waits until the test calls `open()`: the job is then mid-way for as long as
 * the test needs (asking the model for that turn), so it can look at what the dashboard shows before
 * the completion. `reached` resolves when the job asks for that turn.
 */
export function gatedSession(turns: readonly Turn[], at = 0): { script: ScriptFunction; reached: Promise<void>; open(): void } {
  let open!: () => void;
  let reach!: () => void;
  const gate = new Promise<void>((resolve) => (open = resolve));
  const reached = new Promise<void>((resolve) => (reach = resolve));
  const script: ScriptFunction = async (_request, { callIndex }) => {
    if (callIndex === at) {
      reach();
      await gate;
    }
    const turn = turns[callIndex];
    if (!turn) throw new Error(`the gated session has ${turns.length} turns and was asked for turn ${callIndex}`);
    return turn;
  };
  return { script, reached, open: () => open() };
}

/** What the static template's starter page says before the agent changes it (templates/static/index.html). */
export const STATIC_STARTER_HEADING = "Your site starts here";
export const BAKERY_HEADING = "Fresh bread every morning";

/** On a static-template project: rewrite the starter page, then complete on the template's own dev server. */
export const bakerySession: Turn[] = [
  {
    content: [
      text("The starter page becomes the bakery's."),
      toolUse("write_to_file", { path: "index.html", content: `<!doctype html>\n<html lang="en">\n  <head>\n    <meta charset="utf-8" />\n    <title>Bakery</title>\n    <link rel="stylesheet" href="/styles.css" />\n  </head>\n  <body>\n    <main class="container hero">\n      <h1>${BAKERY_HEADING}</h1>\n      <p class="lead">Open Tuesday to Sunday, 7 am to 2 pm.</p>\n    </main>\n  </body>\n</html>\n` }),
    ],
  },
  { content: [toolUse("attempt_completion", { summary: "The bakery's page, on the static template." })] },
];

/** What the dev server the next session breaks the preview with prints before it exits. */
export const CRASH_OUTPUT = "crash.mjs: the port is taken, giving up";

/** Swaps the template's dev server for one that exits at once; the completion fails and the agent gives up. */
export const breakDevServerSession: Turn[] = [
  { content: [text("Trying a server of my own."), toolUse("write_to_file", { path: "crash.mjs", content: `console.error(${JSON.stringify(CRASH_OUTPUT)});\nprocess.exit(1);\n` })] },
  { content: [toolUse("attempt_completion", { summary: "Switched to my own server.", dev_command: "node crash.mjs" })] },
  { content: [text("My server does not start, so I am stopping here.")] },
];

/** Goes back to the template's dev server. */
export const fixDevServerSession: Turn[] = [{ content: [text("Back to the template's server."), toolUse("attempt_completion", { summary: "The template's dev server runs again.", dev_command: "npm run dev" })] }];
