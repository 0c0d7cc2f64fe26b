import type Anthropic from "@anthropic-ai/sdk";
import { lastToolResults, text, toolUse, type ScriptFunction, type Turn } from "../script";
import type { RecordedRequest } from "../types";

/**
 * A scripted agent session that builds a small working app in a live sandbox, tool by tool, like a
 * real model would: it writes a page and a Node server (with a bug), checks it, sees the error,
 * reads the file, fixes it with replace_in_file, checks again, lists and searches, then completes
 * with the dev command. A follow-up prompt edits the page and completes again. Stateless: each answer
 * is computed from the request, so it also works across restarts and follow-ups.
 */

const PAGE = `<!doctype html>
<html lang="en">
  <head><meta charset="utf-8"><title>Hello from Kiln</title>
  <style>body{font-family:system-ui;margin:4rem;background:#fff7ed;color:#7c2d12}</style></head>
  <body><h1>Hello from Kiln</h1><p>Built by a scripted agent in a live sandbox.</p></body>
</html>
`;

const BUGGY_SERVER = `const http = require("node:http");
const fs = require("node:fs");
const port = Number(process.env.PORT || 3000);
http.createServer((req, res) => {
  res.writeHead(200, { "content-type": "text/html; charset=utf-8" });
  res.end(fs.readFileSync(__dirname + "/index.html"));
}).listen(port, "0.0.0.0", () => console.log("listening on " + port);
`;

/** The page the session builds, as served. */
export const HELLO_PAGE_HEADING = "Hello from Kiln";

type Message = Anthropic.MessageParam;

function isPrompt(message: Message): boolean {
  if (message.role !== "user") return false;
  if (typeof message.content === "string") return true;
  return message.content.some((b) => b.type === "text") && !message.content.some((b) => b.type === "tool_result");
}

/** Where a request stands in a session: how many model turns since the latest prompt, and whether it is a follow-up. */
export function sessionPosition(request: RecordedRequest): { step: number; followUp: boolean; prompt: string } {
  const messages = request.body?.messages ?? [];
  let promptAt = -1;
  messages.forEach((m, i) => {
    if (isPrompt(m)) promptAt = i;
  });
  const prompt = messages[promptAt];
  const promptText = typeof prompt?.content === "string" ? prompt.content : (prompt?.content.find((b) => b.type === "text") as Anthropic.TextBlockParam | undefined)?.text ?? "";
  return {
    step: messages.slice(promptAt + 1).filter((m) => m.role === "assistant").length,
    followUp: messages.slice(0, promptAt).some((m) => m.role === "assistant"),
    prompt: promptText,
  };
}

/** The sha256 a read_file result starts with (what replace_in_file expects back). */
export function shaOf(result: string | undefined): string | undefined {
  return /^sha256 ([0-9a-f]{64})/.exec(result ?? "")?.[1];
}

function firstBuild(step: number, last: ReturnType<typeof lastToolResults>): Turn {
  switch (step) {
    case 0:
      return {
        content: [
          text("I'll build a small page served by a Node server. First the files."),
          toolUse("write_to_file", { path: "index.html", content: PAGE }),
          toolUse("write_to_file", { path: "server.js", content: BUGGY_SERVER }),
        ],
      };
    case 1:
      return { content: [text("Let me check the server parses."), toolUse("execute_command", { command: "node --check server.js" })] };
    case 2:
      return { content: [text("There is a syntax error. Reading the file."), toolUse("read_file", { path: "server.js" })] };
    case 3:
      return {
        content: [
          text("The listen call is missing a closing parenthesis; fixing it."),
          toolUse("replace_in_file", {
            path: "server.js",
            old: 'console.log("listening on " + port);',
            new: 'console.log("listening on " + port));',
            expected_sha256: shaOf(last[0]?.text),
          }),
        ],
      };
    case 4:
      return { content: [toolUse("execute_command", { command: "node --check server.js && echo syntax ok" })] };
    case 5:
      return { content: [toolUse("list_files", {}), toolUse("search_files", { pattern: "listen\\(" })] };
    default:
      return {
        content: [
          text("The app is ready."),
          toolUse("attempt_completion", { summary: "A page saying Hello from Kiln, served by a small Node server.", dev_command: "node server.js" }),
        ],
      };
  }
}

function followUp(step: number, last: ReturnType<typeof lastToolResults>, prompt: string): Turn {
  switch (step) {
    case 0:
      return { content: [text("Reading the page before changing it."), toolUse("read_file", { path: "index.html" })] };
    case 1:
      return {
        content: [
          toolUse("replace_in_file", {
            path: "index.html",
            old: "<p>Built by a scripted agent in a live sandbox.</p>",
            new: `<p>Built by a scripted agent in a live sandbox.</p><p>Follow-up: ${prompt.replace(/[<>&]/g, "")}</p>`,
            expected_sha256: shaOf(last[0]?.text),
          }),
        ],
      };
    default:
      return { content: [toolUse("attempt_completion", { summary: "Updated the page as asked.", dev_command: "node server.js" })] };
  }
}

/** The session, as a script for the fake Messages API. */
export const helloAppSession: ScriptFunction = (request) => {
  const { step, followUp: isFollowUp, prompt } = sessionPosition(request);
  const last = lastToolResults(request);
  return isFollowUp ? followUp(step, last, prompt) : firstBuild(step, last);
};

export default helloAppSession;
