import { spawn } from "node:child_process";
import { once } from "node:events";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";
import Anthropic from "@anthropic-ai/sdk";
import { expect, it } from "vitest";

const here = (file: string) => fileURLToPath(new URL(file, import.meta.url));

it("serves a script module, prints its base URL, and exits on SIGTERM", async () => {
  const child = spawn(process.execPath, ["--import", "tsx", here("./cli.ts"), "--script", here("./example-script.ts"), "--port", "0"], {
    stdio: ["ignore", "pipe", "inherit"],
  });
  try {
    const lines = createInterface({ input: child.stdout });
    const [firstLine] = (await once(lines, "line")) as [string];
    const baseURL = /^ANTHROPIC_BASE_URL=(http:\/\/127\.0\.0\.1:\d+)$/.exec(firstLine)?.[1];
    expect(baseURL, firstLine).toBeDefined();

    const message = await new Anthropic({ apiKey: "sk-test", baseURL, maxRetries: 0 }).messages.create({
      model: "claude-sonnet-4-6",
      max_tokens: 100,
      messages: [{ role: "user", content: "What is in the project?" }],
    });
    expect(message.content[1]).toMatchObject({ type: "tool_use", name: "list_files", input: { path: "." } });

    const exited = once(child, "exit");
    child.kill("SIGTERM");
    expect(await exited).toEqual([0, null]);
  } finally {
    if (child.exitCode === null) child.kill("SIGKILL");
  }
});
