/**
 * The terminal on the Daytona provider, through the fake (which speaks the SDK's PTY protocol on local
 * sandboxes): the same round trip as on the local provider, Kiln's own socket in front of Daytona's (the
 * Daytona key never reaches the browser, in nothing it is sent). A daemon too old for PTY sessions:
 * workspace/sandbox/daytona-terminal.test.ts.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { ProjectsApi } from "../projects/contract";
import type { WorkspaceApi } from "../workspace/contract";
import type { FakeDaytona } from "./fakes/daytona/server";
import { runningWorkspace } from "./support/kiln";
import { startDaytonaGenerationStack, type GenerationStack } from "./support/stack";
import { connectTerminal, expectCtrlCStopsSleep, expectResizeReaches, terminalTicket, type TestTerminal } from "./support/terminal";
import { waitFor } from "./support/wait-for";

let stack: GenerationStack & { daytona: FakeDaytona };
let projectId: string;
let sandboxId: string;
const open: TestTerminal[] = [];

const impl = <T>(name: string) => stack.kiln.kiln.services.find((s) => s.name === name)!.impl as T;

beforeAll(async () => {
  stack = await startDaytonaGenerationStack();
  const created = await stack.api.call("POST", "/projects", { name: "Daytona terminal", template: "blank" });
  projectId = created.body.id;
  const ws = await runningWorkspace(impl<WorkspaceApi>("workspace"), projectId);
  sandboxId = ws.providerSandboxId!;
  await impl<ProjectsApi>("projects").recordActivity({ id: projectId, workspaceId: ws.id });
}, 120_000);
afterAll(async () => {
  for (const t of open) t.close();
  await stack?.close();
});

describe("a terminal on Daytona", () => {
  it("echoes, stops `sleep` on Ctrl-C and resizes, over Kiln's socket in front of the sandbox's PTY session", async () => {
    const ticket = await terminalTicket(stack.api, projectId, { rows: 27, cols: 91 });
    const t = await connectTerminal(stack.kiln.url, ticket);
    open.push(t);
    await t.prompt();
    expect(stack.daytona.ptys.live(sandboxId)).toHaveLength(1);
    t.type("echo day-$((20+22)); stty size\r");
    await t.expectOutput(/day-42\r\n27 91\r\n/);

    await expectCtrlCStopsSleep(t);
    await expectResizeReaches(t, 35, 120);

    // The browser talks to Kiln only: the Daytona key went from Kiln to Daytona, never into a ticket or a socket URL.
    expect(JSON.stringify(ticket)).not.toContain(stack.daytona.apiKey);
    expect(ticket.socketPath.startsWith("/workspaces/")).toBe(true);
    expect(stack.daytona.ptys.upgrades.at(-1)?.authorization).toBe(`Bearer ${stack.daytona.apiKey}`);
    expect(t.output()).not.toContain(stack.daytona.apiKey);

    t.type("exit 5\r");
    await t.closed;
    expect(t.messages.find((m) => m.type === "exit")).toEqual({ type: "exit", exitCode: 5 });
    await waitFor("the PTY session gone", () => stack.daytona.ptys.live(sandboxId).length === 0);
  });
});
