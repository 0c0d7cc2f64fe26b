/**
 * Keystroke → echo through the terminal on the local provider, against a plain pseudo-terminal, side by
 * side in one run. Kiln's path is the dashboard's: a ticket from POST /projects/:id/terminals, then the
 * WebSocket, to an interactive bash under util-linux `script` inside the sandbox's boundary (bubblewrap
 * and slirp4netns, which must be installed); the baseline is the same `script` and bash started directly
 * on the host with pipes, no sandbox, no server, no socket. One character is typed and timed until the
 * shell's echo of it arrives, then erased (its echo awaited, not timed), `BENCH_TERMINAL_SAMPLES` (1000)
 * times after a warm-up; a command typed at the end checks that every key and erase reached the shell.
 */
import { execFileSync, spawn } from "node:child_process";
import type { AuthData } from "../../lib/routes";
import type { ProjectsApi } from "../../projects/contract";
import type { WorkspaceApi } from "../../workspace/contract";
import { client } from "../support/http";
import { MISSING_ISOLATION } from "../support/isolation";
import { runningWorkspace, type TestKiln } from "../support/kiln";
import { connectTerminal, terminalTicket } from "../support/terminal";
import { fmt, percentile, type BenchRow } from "./measure";

const SAMPLES = Number(process.env.BENCH_TERMINAL_SAMPLES ?? 1000);
const WARMUP = 20;
const KEY = "k";
const ERASE = "\u007f";

/** A shell on a pseudo-terminal as the bench drives it: write keys, and be told of each output chunk. */
interface Keyboard {
  type(data: string): void;
  /** Calls `listener` with every output chunk from now on; returns the unsubscribe function. */
  onOutput(listener: (chunk: string) => void): () => void;
}

/** Resolves once the output after now has included `text`. */
function outputOf(keyboard: Keyboard, text: string, timeoutMs = 10_000): Promise<void> {
  return new Promise((resolve, reject) => {
    let seen = "";
    const timer = setTimeout(() => {
      off();
      reject(new Error(`no ${JSON.stringify(text)} in the terminal's output within ${timeoutMs} ms (got ${JSON.stringify(seen.slice(-200))})`));
    }, timeoutMs);
    const off = keyboard.onOutput((chunk) => {
      seen += chunk;
      if (!seen.includes(text)) return;
      clearTimeout(timer);
      off();
      resolve();
    });
  });
}

/** Milliseconds from typing one character to its echo, per sample (each erased before the next). */
async function echoes(keyboard: Keyboard): Promise<number[]> {
  const samples: number[] = [];
  for (let i = 0; i < WARMUP + SAMPLES; i++) {
    const echoed = outputOf(keyboard, KEY);
    const started = performance.now();
    keyboard.type(KEY);
    await echoed;
    if (i >= WARMUP) samples.push(performance.now() - started);
    // Readline answers DEL with a backspace (and, at the line's start, nothing to erase: the line stays short).
    const erased = outputOf(keyboard, "\b");
    keyboard.type(ERASE);
    await erased;
  }
  // Every key reached the shell and every erase took its key back: the line is empty, so this runs.
  const ran = outputOf(keyboard, "echoed-42");
  keyboard.type("echo echoed-$((6*7))\r");
  await ran;
  return samples;
}

/** Waits until an interactive shell prints its prompt (`$ ` or `# ` last). */
async function prompted(keyboard: Keyboard, timeoutMs = 20_000): Promise<void> {
  await new Promise<void>((resolve, reject) => {
    let seen = "";
    const timer = setTimeout(() => reject(new Error(`no shell prompt within ${timeoutMs} ms: ${JSON.stringify(seen.slice(-200))}`)), timeoutMs);
    const off = keyboard.onOutput((chunk) => {
      seen += chunk;
      if (!/[$#] $/.test(seen)) return;
      clearTimeout(timer);
      off();
      resolve();
    });
  });
}

/** The same `script` and interactive bash as a local terminal runs, started directly on the host. */
async function plainPty(): Promise<number[]> {
  const child = spawn("script", ["-qfc", "stty rows 24 cols 80; bash --norc --noprofile -i", "/dev/null"], {
    env: { PATH: process.env.PATH ?? "/usr/bin:/bin", HOME: process.env.HOME ?? "/tmp", TERM: "xterm-256color", PS1: "$ ", HISTFILE: "/dev/null" },
    stdio: ["pipe", "pipe", "ignore"],
  });
  const listeners = new Set<(chunk: string) => void>();
  child.stdout.setEncoding("utf8").on("data", (chunk: string) => {
    for (const listener of [...listeners]) listener(chunk);
  });
  const keyboard: Keyboard = {
    type: (data) => child.stdin.write(data),
    onOutput: (listener) => {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
  };
  try {
    await prompted(keyboard);
    return await echoes(keyboard);
  } finally {
    child.stdin.end("exit\r");
    child.kill("SIGKILL");
  }
}

/** Kiln's terminal, as the dashboard opens it: a ticket over HTTP, then the socket. */
async function kilnTerminal(kilnUrl: string, token: string, projectId: string): Promise<number[]> {
  const ticket = await terminalTicket(client(kilnUrl, token), projectId, { rows: 24, cols: 80 });
  const t = await connectTerminal(kilnUrl, ticket);
  const listeners = new Set<(chunk: string) => void>();
  t.socket.on("message", (data) => {
    const message = JSON.parse(String(data)) as { type: string; data?: string };
    if (message.type !== "output") return;
    for (const listener of [...listeners]) listener(message.data ?? "");
  });
  const keyboard: Keyboard = {
    type: (data) => t.type(data),
    onOutput: (listener) => {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
  };
  try {
    // The prompt may have come with the socket's first messages already.
    if (!/[$#] $/.test(t.output())) await prompted(keyboard);
    return await echoes(keyboard);
  } finally {
    t.close();
  }
}

/** The bench: Kiln's terminal and the plain pseudo-terminal, p50 and p95 of each, and Kiln's over the plain one's. */
export async function benchTerminal(options: { kiln: TestKiln; workspace: WorkspaceApi; projects: ProjectsApi }): Promise<BenchRow[]> {
  if (MISSING_ISOLATION) throw new Error(`the terminal bench measures the sandbox's boundary, and ${MISSING_ISOLATION}`);
  const { kiln, workspace, projects } = options;
  const { userID, token } = await kiln.createUser("bench-terminal");
  const auth: AuthData = { userID };
  const projectId = (await projects.create({ name: "bench terminal", template: "blank" }, auth)).id;
  const ws = await runningWorkspace(workspace, projectId);
  await projects.recordActivity({ id: projectId, workspaceId: ws.id });

  const plain = await plainPty();
  const kilnSamples = await kilnTerminal(kiln.url, token, projectId);
  const scriptVersion = execFileSync("script", ["--version"], { encoding: "utf8" }).trim().replace(/^script from /, "");
  const row = (measure: string, ms: number, note: string): BenchRow => ({ benchmark: "terminal echo", measure, value: ms < 1 ? `${ms.toFixed(2)} ms` : fmt(ms), note });
  const [k50, k95, p50, p95] = [percentile(kilnSamples, 50), percentile(kilnSamples, 95), percentile(plain, 50), percentile(plain, 95)];
  const where = `${SAMPLES} keystrokes, one at a time`;
  return [
    row("Kiln terminal, p50", k50, `${where}: ticket, WebSocket (client in the server's process), toolbox, script + bash -il inside bubblewrap (slirp4netns attached, not on this path)`),
    row("Kiln terminal, p95", k95, where),
    row("plain script PTY, p50", p50, `${where}: the same script (${scriptVersion}) + bash -i started directly, pipes`),
    row("plain script PTY, p95", p95, where),
    { benchmark: "terminal echo", measure: "Kiln / plain", value: `${(k50 / p50).toFixed(1)}× p50, ${(k95 / p95).toFixed(1)}× p95`, note: "the same run" },
  ];
}
