/**
 * The terminal (issue 20 part 1) on the local provider, through the standalone server: a round trip
 * over the WebSocket (echo, Ctrl-C, resize), the sandbox's boundary seen from it, who may open it, a
 * reconnect, its limits, and its end with the workspace (its files backed up first).
 */
import { createServer, type Server } from "node:net";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import type { Logger } from "../lib/log";
import type { ProjectsApi } from "../projects/contract";
import type { VfsApi } from "../vfs/contract";
import type { WorkspaceApi } from "../workspace/contract";
import { createLocalProvider } from "../workspace/sandbox/local";
import type { TerminalSessions } from "../workspace/terminal/sessions";
import { client, type TestClient } from "./support/http";
import { MISSING_ISOLATION, noteMissingIsolation, searchableTempDir, withoutIsolationPrograms } from "./support/isolation";
import { runningWorkspace, startTestKiln, type TestKiln } from "./support/kiln";
import { startTestMongo, type TestMongo } from "./support/mongo";
import { connectTerminal, expectCtrlCStopsSleep, expectResizeReaches, terminalTicket, type TestTerminal } from "./support/terminal";
import { waitFor } from "./support/wait-for";

const MAX_INPUT = 4096;
let mongo: TestMongo;
let kiln: TestKiln;
let alice: TestClient;
let bob: TestClient;
let aliceAuth: { userID: string };
let projectId: string;
let workspaceId: string;
const open: TestTerminal[] = [];

const impl = <T>(name: string) => kiln.kiln.services.find((s) => s.name === name)!.impl as T;

async function terminal(body: Record<string, unknown> = {}): Promise<TestTerminal & { terminalId: string }> {
  const ticket = await terminalTicket(alice, projectId, body);
  const t = await connectTerminal(kiln.url, ticket);
  open.push(t);
  return Object.assign(t, { terminalId: ticket.terminalId });
}

const sessions = () => (impl<WorkspaceApi>("workspace") as WorkspaceApi & { terminals: TerminalSessions }).terminals;


async function projectWithWorkspace(name: string): Promise<{ projectId: string; workspaceId: string }> {
  const projects = impl<ProjectsApi>("projects");
  const id = (await projects.create({ name, template: "blank" }, aliceAuth)).id;
  const ws = await runningWorkspace(impl<WorkspaceApi>("workspace"), id);
  await projects.recordActivity({ id, workspaceId: ws.id });
  return { projectId: id, workspaceId: ws.id };
}

beforeAll(async () => {
  mongo = await startTestMongo();
  kiln = await startTestKiln({ MONGODB_URI: mongo.uri, KILN_MONGODB_DATABASE: mongo.databaseName, KILN_TERMINAL_MAX_INPUT_BYTES: String(MAX_INPUT), KILN_TERMINALS_PER_WORKSPACE: "3" });
  const a = await kiln.createUser("alice");
  aliceAuth = { userID: a.userID };
  alice = client(kiln.url, a.token);
  bob = client(kiln.url, (await kiln.createUser("bob")).token);
  ({ projectId, workspaceId } = await projectWithWorkspace("Terminal"));
}, 120_000);
// Each test starts with no live terminal in the shared workspace (the limit is 3).
afterEach(() => sessions().closeWorkspace(workspaceId));
afterAll(async () => {
  for (const t of open) t.close();
  await kiln?.close();
  await mongo?.close();
});

describe("a terminal round trip on the local provider", () => {
  it("runs what is typed and shows its output, stops `sleep` on Ctrl-C, and resizes what `stty size` reports", async () => {
    const t = await terminal({ rows: 30, cols: 100 });
    await t.prompt();
    t.type("echo sum-$((40+2))\r");
    await t.expectOutput(/sum-42\r\n/);
    t.type("stty size\r");
    await t.expectOutput(/30 100\r\n/);

    await expectCtrlCStopsSleep(t);
    await expectResizeReaches(t, 41, 133);
  });

  it("takes a paste up to the input limit and closes the socket over it, saying why", async () => {
    const t = await terminal();
    await t.prompt();
    const mark = t.mark();
    t.type(`echo ${"p".repeat(1000)} | wc -c\r`);
    await t.expectOutput(/1001\r\n/, mark);
    t.type("x".repeat(MAX_INPUT + 1));
    await t.closed;
    expect(t.messages.at(-1)).toMatchObject({ type: "closed", reason: "limit", message: expect.stringContaining(`limit of ${MAX_INPUT}`) });
  });

  it("refuses a message that is not input or a size, and a size out of bounds", async () => {
    for (const bad of [{ type: "exec", data: "id" }, { type: "resize", rows: 0, cols: 80 }, { type: "resize", rows: 24, cols: 1.5 }]) {
      const t = await terminal();
      t.socket.send(JSON.stringify(bad));
      await t.closed;
      expect(t.messages.at(-1), JSON.stringify(bad)).toMatchObject({ type: "closed", reason: "error" });
    }
  });
});

describe("who may open a terminal", () => {
  it("answers another user's project 404 and no token 401, before any terminal or socket exists", async () => {
    const before = impl<WorkspaceApi>("workspace").listTerminals({ id: workspaceId });
    const foreign = await bob.call("POST", `/projects/${projectId}/terminals`, {});
    expect(foreign.status).toBe(404);
    expect(foreign.body).toMatchObject({ code: "not_found" });
    const anonymous = await client(kiln.url).call("POST", `/projects/${projectId}/terminals`, {});
    expect(anonymous.status).toBe(401);
    expect(await impl<WorkspaceApi>("workspace").listTerminals({ id: workspaceId })).toEqual(await before);
  });

  it("upgrades a socket only with an unspent ticket for that very terminal", async () => {
    const ticket = await terminalTicket(alice, projectId);
    const refused = async (path: string, value: string | undefined) => {
      const error = await connectTerminal(kiln.url, { socketPath: path, ticket: value ?? "" }).then(
        (t) => (t.close(), undefined),
        (err: { status?: number }) => err,
      );
      return error?.status;
    };
    expect(await refused(ticket.socketPath, undefined)).toBe(401);
    expect(await refused(ticket.socketPath, "not-a-ticket")).toBe(401);
    const other = await terminalTicket(alice, projectId);
    expect(await refused(other.socketPath, ticket.ticket)).toBe(404);
    // The ticket was checked against the other terminal and refused: still unspent for its own.
    const t = await connectTerminal(kiln.url, ticket);
    open.push(t);
    await t.prompt();
    expect(await refused(ticket.socketPath, ticket.ticket)).toBe(401);
    for (const id of [ticket.terminalId, other.terminalId]) {
      const reconnect = await bob.call("POST", `/projects/${projectId}/terminals`, { terminalId: id });
      expect(reconnect.status).toBe(404);
    }
  });

  it("refuses more terminals than a workspace may have, naming the limit", async () => {
    const answers = [];
    for (let i = 0; i < 4; i++) answers.push(await alice.call("POST", `/projects/${projectId}/terminals`, {}));
    expect(answers.map((a) => a.status)).toEqual([200, 200, 200, 429]);
    expect(answers[3]!.body.message).toContain("KILN_TERMINALS_PER_WORKSPACE");
  });
});

describe("the terminal inside the sandbox's boundary", () => {
  if (MISSING_ISOLATION) {
    noteMissingIsolation("terminal isolation");
    it("is refused with the sandbox itself where the boundary cannot be built, naming what is missing", async () => {
      const silent: Logger = { debug() {}, info() {}, warn() {}, error() {}, child: () => silent };
      const provider = await withoutIsolationPrograms(async () => createLocalProvider({ root: await searchableTempDir("kiln-terminal-refusal-"), portRange: [4900, 4901], log: silent }));
      await expect(provider.create({ workspaceId: "w", projectId: "p" })).rejects.toMatchObject({ code: "unavailable", message: expect.stringContaining("bubblewrap") });
      await provider.close();
    });
    return;
  }

  let canary: Server;
  let canaryPort = 0;
  let connections = 0;
  beforeAll(async () => {
    canary = createServer((socket) => {
      connections++;
      socket.end("canary\n");
    });
    await new Promise<void>((resolve) => canary.listen(0, "127.0.0.1", resolve));
    canaryPort = (canary.address() as { port: number }).port;
  });
  afterAll(() => new Promise<void>((resolve) => canary.close(() => resolve())));

  it("sees no host file, no server process, no host loopback, and is no root", async () => {
    const t = await terminal();
    await t.prompt();
    process.env.KILN_TERMINAL_TEST_SECRET = "terminal-canary-secret";
    const mark = t.mark();
    const probes = [
      `ls ${kiln.config.dataDir} >/dev/null 2>&1 && echo "SEEN data" || echo "hidden data"`,
      `cat /proc/${process.pid}/environ >/dev/null 2>&1 && echo "SEEN server" || echo "hidden server"`,
      "cat /proc/*/environ 2>/dev/null | tr '\\0' '\\n' | grep -c TERMINAL_TEST_SECRET | sed 's/^/secrets-/'",
      `(timeout 3 bash -c 'echo > /dev/tcp/127.0.0.1/${canaryPort}' 2>/dev/null && echo "OPEN loopback" || echo "closed loopback")`,
      `(timeout 3 bash -c 'echo > /dev/tcp/10.0.2.2/${canaryPort}' 2>/dev/null && echo "OPEN gateway" || echo "closed gateway")`,
      "echo uid-$(id -u)",
      "echo done-$((7*6))",
    ];
    t.type(`${probes.join("; ")}\r`);
    const typed = await t.expectOutput(/done-42\r\n/, mark);
    // What the commands printed: after the shell took the line (bracketed paste off), not the line as typed.
    const seen = typed.slice(typed.lastIndexOf("\u001b[?2004l"));
    delete process.env.KILN_TERMINAL_TEST_SECRET;
    expect(seen).toContain("hidden data");
    expect(seen).toContain("hidden server");
    expect(seen).toContain("secrets-0");
    expect(seen).toContain("closed loopback");
    expect(seen).toContain("closed gateway");
    expect(seen).not.toMatch(/SEEN|OPEN/);
    expect(seen).not.toMatch(/uid-0\r/);
    expect(connections).toBe(0);
  });
});

describe("a terminal's life", () => {
  it("reconnects to the live shell after the socket dropped: its scrollback first, its state kept", async () => {
    const first = await terminal();
    await first.prompt();
    first.type("export KEPT=$((6*7)); echo before-drop\r");
    await first.expectOutput(/before-drop\r\n/);
    first.socket.terminate();
    await first.closed;
    const listed = await impl<WorkspaceApi>("workspace").listTerminals({ id: workspaceId });
    expect(listed.terminals).toEqual([expect.objectContaining({ terminalId: first.terminalId, attached: false })]);
    const ticket = await terminalTicket(alice, projectId, { terminalId: first.terminalId });
    const again = await connectTerminal(kiln.url, ticket);
    open.push(again);
    await again.expectOutput(/before-drop\r\n/);
    const mark = again.mark();
    again.type("echo kept-$KEPT\r");
    await again.expectOutput(/kept-42\r\n/, mark);
  });

  it("ends with its workspace's stop, after backing up the files it changed to the vfs", async () => {
    const own = await projectWithWorkspace("Terminal stop");
    const t = await connectTerminal(kiln.url, await terminalTicket(alice, own.projectId));
    open.push(t);
    await t.prompt();
    t.type("echo from-terminal > made-in-terminal.txt; echo written-$((2+2))\r");
    await t.expectOutput(/written-4\r\n/);
    await impl<WorkspaceApi>("workspace").stop({ id: own.workspaceId });
    await t.closed;
    expect(t.messages.at(-1)).toMatchObject({ type: "closed", reason: "stopped" });
    const file = await impl<VfsApi>("vfs").readFile({ projectId: own.projectId, path: "made-in-terminal.txt" }, aliceAuth);
    expect(Buffer.from(file.contentBase64, "base64").toString("utf8")).toBe("from-terminal\n");
    expect((await impl<WorkspaceApi>("workspace").listTerminals({ id: own.workspaceId })).terminals).toEqual([]);
  });

  it("says when the shell ended and forgets the terminal", async () => {
    const t = await terminal();
    await t.prompt();
    t.type("exit 3\r");
    await t.closed;
    expect(t.messages.find((m) => m.type === "exit")).toEqual({ type: "exit", exitCode: 3 });
    await waitFor("the terminal forgotten", async () => (await impl<WorkspaceApi>("workspace").listTerminals({ id: workspaceId })).terminals.length === 0);
    const reconnect = await alice.call("POST", `/projects/${projectId}/terminals`, { terminalId: t.terminalId });
    expect(reconnect.status).toBe(404);
  });
});
