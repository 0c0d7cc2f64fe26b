import WebSocket from "ws";
import type { TerminalServerMessage, TerminalTicket } from "../../workspace/contract";
import type { TestClient } from "./http";
import { waitFor } from "./wait-for";

/** A terminal socket as a test drives it: everything it received, as text, and the messages themselves. */
export interface TestTerminal {
  messages: TerminalServerMessage[];
  /** Every output so far, joined. */
  output(): string;
  /** Output after the point `mark()` returned. */
  since(mark: number): string;
  mark(): number;
  type(data: string): void;
  resize(rows: number, cols: number): void;
  /** Waits for the shell's prompt (`$ ` or `# ` last), so what is typed next reaches a shell that reads it. */
  prompt(): Promise<string>;
  /** Waits until the output since `from` matches. */
  expectOutput(pattern: RegExp, from?: number, timeoutMs?: number): Promise<string>;
  closed: Promise<{ code: number }>;
  socket: WebSocket;
  close(): void;
}

/** Asks for a terminal ticket (a new terminal, or `terminalId`'s), answering the HTTP response as it is. */
export async function terminalTicket(api: TestClient, projectId: string, body: Record<string, unknown> = {}): Promise<TerminalTicket> {
  const answer = await api.call("POST", `/projects/${projectId}/terminals`, body);
  if (answer.status !== 200) throw new Error(`POST /projects/${projectId}/terminals answered ${answer.status}: ${answer.text}`);
  return answer.body as TerminalTicket;
}

/** Opens a terminal socket at `url` with the ticket; rejects with the HTTP status when the upgrade is refused. */
export function connectTerminal(baseUrl: string, ticket: Pick<TerminalTicket, "socketPath" | "ticket">): Promise<TestTerminal> {
  const url = `${baseUrl.replace(/^http/, "ws")}${ticket.socketPath}?ticket=${encodeURIComponent(ticket.ticket)}`;
  const socket = new WebSocket(url);
  const messages: TerminalServerMessage[] = [];
  const output = () => messages.filter((m) => m.type === "output").map((m) => m.data ?? "").join("");
  socket.on("message", (data) => messages.push(JSON.parse(String(data)) as TerminalServerMessage));
  const closed = new Promise<{ code: number }>((resolve) => socket.on("close", (code) => resolve({ code })));
  return new Promise((resolve, reject) => {
    socket.once("unexpected-response", (_req, res) => reject(Object.assign(new Error(`the upgrade was refused with ${res.statusCode}`), { status: res.statusCode })));
    socket.once("error", reject);
    socket.once("open", () =>
      resolve({
        messages,
        output,
        mark: () => output().length,
        since: (mark) => output().slice(mark),
        type: (data) => socket.send(JSON.stringify({ type: "input", data })),
        resize: (rows, cols) => socket.send(JSON.stringify({ type: "resize", rows, cols })),
        prompt: () => waitFor("the shell's prompt", () => /[$#] $/.test(output()) && output(), { intervalMs: 20 }),
        expectOutput: (pattern, from = 0, timeoutMs = 20_000) => waitFor(`terminal output matching ${pattern}`, () => pattern.test(output().slice(from)) && output().slice(from), { timeoutMs, intervalMs: 20 }),
        closed,
        socket,
        close: () => socket.close(),
      }),
    );
  });
}

/** Ctrl-C stops a `sleep 60` the shell runs: the next command answers at once, and `$?` says SIGINT. */
export async function expectCtrlCStopsSleep(t: TestTerminal): Promise<void> {
  let mark = t.mark();
  t.type("echo started-$((1+1)); sleep 60\r");
  await t.expectOutput(/started-2\r\n/, mark);
  mark = t.mark();
  t.type("\u0003");
  t.type("echo code-$?\r");
  // `sleep 60` still running would hold this back for a minute.
  await t.expectOutput(/code-130\r\n/, mark, 10_000);
}

/** A resize reaches the shell: `stty size` reports it (asked until it does: a size applies a moment after its message). */
export async function expectResizeReaches(t: TestTerminal, rows: number, cols: number): Promise<void> {
  t.resize(rows, cols);
  await waitFor(`stty size to report ${rows} ${cols}`, async () => {
    const before = t.mark();
    t.type("stty size\r");
    return (await t.expectOutput(/\d+ \d+\r\n/, before)).includes(`${rows} ${cols}\r\n`);
  });
}
