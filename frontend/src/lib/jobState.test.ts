import { describe, expect, it } from "vitest";
import type { GenerationEvent } from "../api/client";
import { applyEvent, fixPrompt, initialJobState, shortInput, type JobState } from "./jobState";

let seq = 0;
const at = "2026-01-01T00:00:00Z";
const ev = (type: string, data: Record<string, unknown>): GenerationEvent => ({ type, data, seq: ++seq, at }) as GenerationEvent;

describe("job state from events", () => {
  const events = [
    ev("queued", {}),
    ev("step", { step: "preparing_workspace", progress: 5 }),
    ev("step", { step: "generating", progress: 20 }),
    ev("text", { text: "Writing " }),
    ev("text", { text: "the page." }),
    ev("tool_started", { id: "t1", name: "write_to_file" }),
    ev("usage", { inputTokens: 10, outputTokens: 5, cacheReadTokens: 100, cacheWriteTokens: 0 }),
    ev("tool_finished", { id: "t1", name: "write_to_file", input: { path: "index.html", content: "<h1>" }, ok: true, output: "wrote", durationMs: 12 }),
    ev("tool_finished", { id: "t2", name: "execute_command", input: { command: "npm test" }, ok: false, output: "exit code 1", durationMs: 40 }),
    ev("usage", { inputTokens: 20, outputTokens: 7, cacheReadTokens: 50, cacheWriteTokens: 3 }),
    ev("step", { step: "completing", progress: 10 }),
    ev("completed", { summary: "Built it", previewUrl: "http://127.0.0.1:4100" }),
  ];
  const fold = (list: GenerationEvent[], from: JobState = initialJobState) => list.reduce(applyEvent, from);

  it("folds steps, text, tool calls, usage and the outcome", () => {
    const state = fold(events);
    expect(state.steps.map((s) => s.step)).toEqual(["queued", "preparing_workspace", "generating", "completing"]);
    expect(state.progress).toBe(100);
    expect(state.items.map((i) => (i.kind === "tool" ? `${i.call.name}:${i.call.state}` : i.kind === "text" ? i.text : i.text))).toEqual([
      "Writing the page.",
      "write_to_file:ok",
      "execute_command:error",
    ]);
    expect(state.usage).toEqual({ inputTokens: 30, outputTokens: 12, cacheReadTokens: 150, cacheWriteTokens: 3 });
    expect(state.final).toEqual({ type: "completed", summary: "Built it", previewUrl: "http://127.0.0.1:4100" });
  });

  it("never goes backwards and ignores events replayed after a reconnect", () => {
    const partial = fold(events.slice(0, 7));
    expect(partial.progress).toBeGreaterThan(20);
    const resumed = fold(events.slice(3), partial); // a replay overlapping what was already applied
    expect(resumed).toEqual(fold(events));
  });

  it("has the preview from preview_ready, before the job completes, and keeps it through the completion", () => {
    const url = "http://127.0.0.1:4101";
    const early = fold([ev("step", { step: "generating", progress: 20 }), ev("preview_ready", { url, token: null }), ev("text", { text: "Editing." })]);
    expect(early.final).toBeNull();
    expect(early.preview).toEqual({ url, token: null });
    expect(early.items.some((i) => i.kind === "note" && /preview is up/.test(i.text))).toBe(true);
    const done = fold([ev("completed", { summary: "Done", previewUrl: url })], early);
    expect(done.preview).toEqual({ url, token: null });
    // A completion that names another URL wins; one with none leaves the early preview.
    expect(fold([ev("completed", { summary: "Done", previewUrl: "http://127.0.0.1:4102" })], early).preview?.url).toBe("http://127.0.0.1:4102");
    expect(fold([ev("completed", { summary: "Done", previewUrl: null })], early).preview?.url).toBe(url);
    expect(fold([ev("preview_ready", { url, token: "signed" })]).preview).toEqual({ url, token: "signed" });
  });

  it("says an archived sandbox is being restored, and that it can take minutes", () => {
    const state = fold([ev("workspace", { action: "starting", workspaceId: "wsp_1", status: "archived" }), ev("workspace", { action: "restoring", workspaceId: "wsp_1" })]);
    expect(state.items.map((i) => i.kind === "note" && i.text)).toEqual(["Starting the project's sandbox (it was archived)", "Restoring the archived sandbox — this can take minutes"]);
  });

  it("keeps why the dev server does not answer, with its log tail, until a preview answers", () => {
    const broken = fold([ev("workspace", { action: "dev_server_not_answering", problem: "the process exited with code 1", logTail: "Error: boom\n" })]);
    expect(broken.devServer).toEqual({ problem: "the process exited with code 1", logTail: "Error: boom\n" });
    expect(broken.preview).toBeNull();
    expect(broken.items).toEqual([expect.objectContaining({ kind: "note", tone: "warn", text: expect.stringContaining("the process exited with code 1") })]);
    expect(fold([ev("workspace", { action: "dev_server_not_answering", problem: null, logTail: "" })]).devServer?.problem).toBe("the dev server did not answer");
    expect(fold([ev("preview_ready", { url: "http://127.0.0.1:4101", token: null })], broken).devServer).toBeNull();
    expect(fold([ev("completed", { summary: "Fixed", previewUrl: "http://127.0.0.1:4101" })], broken).devServer).toBeNull();
    expect(fold([ev("failed", { error: "gave up" })], broken).devServer).toEqual(broken.devServer);
  });

  it("keeps the latest round of checks: a failed round's errors, then a new round that passes, and the thumbnail", () => {
    const failing = fold([
      ev("check_started", { kind: "typecheck", target: "npx tsc --noEmit" }),
      ev("check_finished", { kind: "typecheck", target: "npx tsc --noEmit", ok: false, errors: [{ file: "src/App.tsx", line: 3, column: 9, message: "TS2322: nope" }], durationMs: 900 }),
      ev("check_started", { kind: "dev_server", target: "npm run dev" }),
    ]);
    expect(failing.checkRounds).toBe(1);
    expect(failing.checks.map((c) => `${c.kind} ${c.state}`)).toEqual(["typecheck failed", "dev_server running"]);
    expect(failing.checks[0]!.errors[0]).toEqual({ file: "src/App.tsx", line: 3, column: 9, message: "TS2322: nope" });
    const passing = fold(
      [
        ev("check_finished", { kind: "dev_server", target: "npm run dev", ok: true, errors: [], durationMs: 40 }),
        ev("check_started", { kind: "typecheck", target: "npx tsc --noEmit" }),
        ev("check_finished", { kind: "typecheck", target: "npx tsc --noEmit", ok: true, errors: [], durationMs: 800 }),
        ev("loop_guard", { action: "warn", tool: "execute_command", repeats: 3, message: "…" }),
        ev("thumbnail", { sha256: "abc", url: "/projects/p/thumbnail" }),
      ],
      failing,
    );
    expect(passing.checkRounds).toBe(2);
    expect(passing.checks.map((c) => `${c.kind} ${c.state}`)).toEqual(["typecheck ok"]);
    expect(passing.thumbnail).toBe("abc");
    expect(passing.items.at(-1)).toMatchObject({ kind: "note", tone: "warn", text: "The agent repeated a failing execute_command 3 times and was told to change approach" });
  });

  it("shows a call that was running when the server died as interrupted once the job is resumed, not as running for ever", () => {
    const state = fold([
      ev("tool_started", { id: "cut", name: "execute_command" }),
      ev("resumed", { attempt: 2, step: "generating" }),
      ev("tool_started", { id: "next", name: "write_to_file" }),
    ]);
    expect(state.items.map((i) => (i.kind === "tool" ? `${i.call.id}:${i.call.state}` : i.text))).toEqual([
      "cut:error",
      "The server restarted; picking the job up again (attempt 2)",
      "next:running",
    ]);
  });

  it("moves the progress with each turn, tool call and check while generating, never past the next step", () => {
    let state = fold([ev("step", { step: "generating", progress: 20 })]);
    const seen = [state.progress];
    for (let i = 0; i < 60; i++) {
      state = fold([ev("usage", { inputTokens: 1, outputTokens: 1, cacheReadTokens: 0, cacheWriteTokens: 0 }), ev("tool_finished", { id: `t${i}`, name: "read_file", input: {}, ok: true, output: "", durationMs: 1 })], state);
      seen.push(state.progress);
    }
    expect(seen.every((p, i) => i === 0 || p > seen[i - 1]! || p === 88)).toBe(true);
    expect(seen[1]! - seen[0]!).toBeGreaterThan(5);
    expect(Math.max(...seen)).toBeLessThanOrEqual(88);
    expect(state.turns).toBe(60);
    expect(state.toolCalls).toBe(60);
    // Preparing the sandbox is not the agent's work: a tool result there moves nothing.
    expect(fold([ev("step", { step: "preparing_workspace", progress: 5 }), ev("usage", { inputTokens: 1, outputTokens: 1, cacheReadTokens: 0, cacheWriteTokens: 0 })]).progress).toBe(5);
  });

  it("shows a cancelled job as cancelled: not the 'completing' step the runner says on its way out, and when it ended", () => {
    const at2 = "2026-01-01T00:00:42Z";
    const state = fold([ev("step", { step: "generating", progress: 20 }), ev("step", { step: "completing", progress: 90 }), { type: "cancelled", data: { status: "cancelled", error: "cancelled by the user" }, seq: ++seq, at: at2 } as GenerationEvent]);
    expect(state.steps.map((s) => s.step)).toEqual(["generating"]);
    expect(state.step).toBe("cancelled");
    expect(state.final).toEqual({ type: "cancelled", error: "cancelled by the user" });
    expect([state.startedAt, state.endedAt]).toEqual([at, at2]);
    // A failure after the completion started keeps the step: the checks did run.
    expect(fold([ev("step", { step: "completing", progress: 90 }), ev("failed", { error: "checks failed" })]).steps.at(-1)?.step).toBe("completing");
  });

  it("keeps the kind of failure the server names: a misconfiguration is the server's, not the app's", () => {
    expect(fold([ev("failed", { status: "failed", error: "the model API failed (401 authentication_error): invalid x-api-key", errorKind: "misconfigured" })]).final).toEqual({
      type: "failed",
      error: "the model API failed (401 authentication_error): invalid x-api-key",
      errorKind: "misconfigured",
    });
    expect(fold([ev("failed", { status: "failed", error: "invalid x-api-key in src/api.ts" })]).final).toEqual({ type: "failed", error: "invalid x-api-key in src/api.ts", errorKind: null });
  });

  it("pre-fills 'Try to fix' with the error and the failed checks' first findings", () => {
    const failed = fold([
      ev("check_started", { kind: "typecheck", target: "tsc" }),
      ev("check_finished", { kind: "typecheck", target: "tsc", ok: false, errors: [{ file: "src/App.tsx", line: 3, column: 9, message: "TS2322: nope" }], durationMs: 9 }),
      ev("check_started", { kind: "build", target: "vite build" }),
      ev("check_finished", { kind: "build", target: "vite build", ok: false, errors: [], durationMs: 9 }),
    ]);
    const prompt = fixPrompt(failed, "the checks kept failing");
    expect(prompt).toContain("The error: the checks kept failing");
    expect(prompt).toContain("- Types: src/App.tsx:3:9 TS2322: nope");
    expect(prompt).toContain("- Build failed");
    expect(fixPrompt(initialJobState, null)).not.toContain("checks found");
  });

  it("summarises a tool's input in one short line", () => {
    expect(shortInput("execute_command", { command: "npm install\nnpm test" })).toBe("npm install");
    expect(shortInput("write_to_file", { path: "src/App.tsx", content: "x" })).toBe("src/App.tsx");
    expect(shortInput("attempt_completion", { summary: "s", dev_command: "npm run dev" })).toBe("npm run dev");
    expect(shortInput("search_files", { pattern: "a".repeat(200) })).toHaveLength(88);
  });
});
