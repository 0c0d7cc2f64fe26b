import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { text, toolUse, type ScriptFunction } from "./fakes/anthropic/server";
import { readEvents, waitForGeneration } from "./support/generation";
import { client } from "./support/http";
import { startGenerationStack, type GenerationStack } from "./support/stack";
import type { WorkspaceApi } from "../workspace/contract";

let stack: GenerationStack;
/** What the preview answered while the model's first turn was still being written (set by the script). */
let previewDuringFirstTurn: { url: string; body: string } | undefined;

/** Waits, inside the model's first turn, until the project's preview answers: the test of "before the first turn ends". */
async function previewWhileThinking(projectId: string): Promise<void> {
  const deadline = Date.now() + 30_000;
  while (Date.now() < deadline) {
    const project = (await stack.api.call("GET", `/projects/${projectId}`)).body;
    if (project.previewUrl) {
      const response = await fetch(project.previewUrl).catch(() => null);
      if (response?.ok) {
        previewDuringFirstTurn = { url: project.previewUrl, body: await response.text() };
        return;
      }
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

let currentProject = "";
const editTheStarter: ScriptFunction = async (_request, { callIndex }) => {
  if (callIndex === 0) {
    await previewWhileThinking(currentProject);
    return { content: [text("Your starter is already live; I will give it a title."), toolUse("read_file", { path: "index.html" })] };
  }
  if (callIndex === 1) {
    return { content: [toolUse("replace_in_file", { path: "index.html", old: "<h1>Your site starts here</h1>", new: "<h1>Moss &amp; Stone Bakery</h1>" })] };
  }
  return { content: [toolUse("attempt_completion", { summary: "Titled the starter page." })] };
};

beforeAll(async () => {
  stack = await startGenerationStack({ script: editTheStarter });
}, 60_000);
afterAll(async () => {
  await stack?.close();
});

describe("templates over HTTP", () => {
  it("lists the templates with the default first, and only to a signed-in caller", async () => {
    const listed = await stack.api.call("GET", "/templates");
    expect(listed.status).toBe(200);
    const names = listed.body.templates.map((t: { name: string }) => t.name);
    expect(names).toEqual(expect.arrayContaining(["vite-react", "static", "expo", "blank"]));
    // The test server's default is blank (KILN_DEFAULT_TEMPLATE): it comes first, and is what the API says.
    expect(listed.body.defaultTemplate).toBe("blank");
    expect(names[0]).toBe("blank");
    for (const template of listed.body.templates) {
      expect(template).toEqual({ name: expect.any(String), title: expect.any(String), description: expect.any(String), stack: expect.any(Array), examples: expect.any(Array) });
      expect(template.examples.length).toBeGreaterThan(0);
    }
    expect((await client(stack.kiln.url, "not-a-token").call("GET", "/templates")).status).toBe(401);
  });

  it("creates a project from a named template, and refuses an unknown name listing the valid ones", async () => {
    const created = await stack.api.call("POST", "/projects", { name: "Shop", template: "static" });
    expect(created.status).toBe(200);
    expect(created.body.template).toBe("static");
    expect((await stack.api.call("GET", `/projects/${created.body.id}`)).body.template).toBe("static");

    for (const template of ["nope", "", 42, "../static", "STATIC"]) {
      const refused = await stack.api.call("POST", "/projects", { name: "Bad", template });
      expect(refused.status, JSON.stringify(template)).toBe(400);
      expect(refused.body.code).toBe("invalid_argument");
      expect(refused.body.message).toContain("template");
      expect(refused.body.message).toContain("vite-react");
      expect(refused.body.message).toContain("static");
    }
    expect((await stack.api.call("POST", "/projects", { name: "Plain" })).body.template).toBe("blank");
  });

  it("shows the template's preview before the model's first turn ends, then the agent's edit in the same dev server", async () => {
    const project = (await stack.api.call("POST", "/projects", { name: "Bakery", template: "static" })).body;
    currentProject = project.id;
    const job = (await stack.api.call("POST", "/generations", { projectId: project.id, prompt: "A page for a bakery called Moss & Stone" })).body;
    const final = await waitForGeneration(stack.api, job.id, 120_000);
    expect(final.status, final.error ?? "").toBe("completed");

    // The script held the first turn until the preview answered: it did, with the starter's page.
    expect(previewDuringFirstTurn?.body).toContain("Your site starts here");
    const events = await readEvents(stack.kiln.url, stack.token, job.id);
    const ready = events.find((e) => e.event === "preview_ready");
    const firstTurnEnd = events.find((e) => e.event === "usage");
    expect(ready, events.map((e) => e.event).join(" ")).toBeDefined();
    expect(ready!.data.url).toBe(previewDuringFirstTurn!.url);
    expect(ready!.id).toBeLessThan(firstTurnEnd!.id);
    expect(events.filter((e) => e.event === "preview_ready")).toHaveLength(1);

    // The agent's edit is served by the dev server that was already running: same URL, new content.
    expect(final.previewUrl).toBe(previewDuringFirstTurn!.url);
    expect(await (await fetch(final.previewUrl)).text()).toContain("Moss &amp; Stone Bakery");
    const workspace = (await stack.api.call("GET", `/projects/${project.id}`)).body;
    expect(workspace.template).toBe("static");
  });

  it("brings back a project whose sandbox was lost before anything reached the vfs with the template's files, and its preview", async () => {
    const project = (await stack.api.call("POST", "/projects", { name: "Lost bakery", template: "static" })).body;
    const workspaces = stack.kiln.kiln.services.find((s) => s.name === "workspace")!.impl as WorkspaceApi;
    // The first job's sandbox is lost during its first turn: nothing of the project reached the vfs.
    stack.model.setScript(async () => {
      await workspaces.del({ id: (await stack.api.call("GET", `/projects/${project.id}`)).body.workspaceId });
      return { content: [text("My sandbox is gone.")] };
    });
    const lost = (await stack.api.call("POST", "/generations", { projectId: project.id, prompt: "A page for a bakery" })).body;
    expect((await waitForGeneration(stack.api, lost.id, 120_000)).status).toBe("failed");

    currentProject = project.id;
    previewDuringFirstTurn = undefined as typeof previewDuringFirstTurn;
    stack.model.setScript(editTheStarter);
    const job = (await stack.api.call("POST", "/generations", { projectId: project.id, prompt: "A page for a bakery called Moss & Stone" })).body;
    const final = await waitForGeneration(stack.api, job.id, 120_000);
    expect(final.status, final.error ?? "").toBe("completed");
    const events = await readEvents(stack.kiln.url, stack.token, job.id);
    expect(events.find((e) => e.event === "workspace")?.data.action).toBe("recreating");
    expect(events.find((e) => e.event === "restored")?.data.files).toBe(0);
    // The starter's page answered while the model thought, and the agent could edit the template's index.html.
    expect(previewDuringFirstTurn?.body).toContain("Your site starts here");
    expect(await (await fetch(final.previewUrl)).text()).toContain("Moss &amp; Stone Bakery");
  });
});
