import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { text, toolUse, type ScriptFunction } from "./fakes/anthropic/server";
import { readEvents, waitForGeneration } from "./support/generation";
import { startDaytonaGenerationStack } from "./support/stack";
import { NEEDS_REGISTRY } from "./support/templates";

/** What the agent read of the starter in its first turn (the template's files reached the sandbox). */
let readApp: string | undefined;

const readTheStarter: ScriptFunction = async (request, { callIndex }) => {
  if (callIndex === 0) return { content: [text("The starter is live; let me look at it."), toolUse("read_file", { path: "src/App.tsx" })] };
  if (callIndex === 1) {
    readApp = JSON.stringify(request.body?.messages.at(-1)?.content);
    return { content: [toolUse("attempt_completion", { summary: "Looked at the starter." })] };
  }
  return { content: [toolUse("attempt_completion", { summary: "Done." })] };
};

/** A template project on Daytona, end to end: its snapshot, its files and its dev server's preview. */
describe("a template project on Daytona (through the fake)", () => {
  let stack: Awaited<ReturnType<typeof startDaytonaGenerationStack>>;

  beforeAll(async () => {
    stack = await startDaytonaGenerationStack({ script: readTheStarter });
  }, 60_000);
  afterAll(async () => {
    await stack?.close();
  });

  it("starts a vite-react project from the template's snapshot, with its files, and says preview_ready with Vite's page", { timeout: 240_000 }, async () => {
    const project = (await stack.api.call("POST", "/projects", { name: "Starter on Daytona", template: "vite-react" })).body;
    const job = (await stack.api.call("POST", "/generations", { projectId: project.id, prompt: "Show me the starter" })).body;
    const final = await waitForGeneration(stack.api, job.id, 200_000);
    expect(final.status, `${final.error ?? ""} (${NEEDS_REGISTRY})`).toBe("completed");

    const snapshots = stack.daytona.snapshots();
    expect(snapshots.map((snapshot) => [snapshot.name.replace(/[0-9a-f]{16}$/, "<hash>"), snapshot.state])).toEqual([["kiln-tpl-vite-react-<hash>", "active"]]);
    const sandboxes = stack.daytona.requests.filter((request) => request.method === "POST" && request.path === "/api/sandbox");
    expect(sandboxes.map((request) => (request.body as { snapshot?: string }).snapshot)).toEqual([snapshots[0]!.name]);
    expect(readApp).toContain("export default function App");

    const events = await readEvents(stack.kiln.url, stack.token, job.id);
    const ready = events.find((event) => event.event === "preview_ready");
    expect(ready, events.map((event) => `${event.event} ${JSON.stringify(event.data).slice(0, 200)}`).join("\n")).toBeDefined();
    const page = await fetch(ready!.data.url as string);
    expect(page.status).toBe(200);
    expect(await page.text()).toContain('<div id="root">');
  });
});
