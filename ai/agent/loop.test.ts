import Anthropic from "@anthropic-ai/sdk";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startFakeAnthropic, text, toolUse, lastToolResults, type FakeAnthropic } from "../../test/fakes/anthropic/server";
import { INTERRUPTED_TOOL_CALL, runAgent, type AgentEvent, type AgentLimits, type AgentProgress } from "./loop";
import { systemPrompt } from "./prompt";
import { agentDoubles, devServerDown } from "../../test/support/agent-doubles";

let fake: FakeAnthropic;
beforeAll(async () => {
  fake = await startFakeAnthropic();
});
afterAll(async () => {
  await fake?.close();
});

const LIMITS: AgentLimits = { maxTurns: 10, maxOutputTokens: 4096, tokenBudget: 1_000_000, wallClockMs: 30_000, maxToolOutputChars: 2000, compactAboveTokens: 100_000, loopGuard: { warnAfter: 3, stopAfter: 5 } };

const doubles = agentDoubles;

function run(tools: ReturnType<typeof doubles>["tools"], overrides: Partial<Parameters<typeof runAgent>[0]> = {}) {
  const events: AgentEvent[] = [];
  const client = new Anthropic({ apiKey: "sk-test", baseURL: fake.baseURL, maxRetries: 2 });
  const outcome = runAgent({
    client,
    model: "claude-sonnet-4-6",
    system: [{ type: "text", text: "You build apps." }],
    tools,
    history: [],
    prompt: "Build a hello page",
    limits: LIMITS,
    signal: new AbortController().signal,
    onEvent: (e) => events.push(e),
    ...overrides,
  });
  return { outcome, events };
}

describe("the agent loop, through the real SDK against the fake Messages API", () => {
  it("writes, reads and completes over several turns, sandbox first then vfs", async () => {
    const d = doubles();
    fake.setScript([
      { content: [text("Writing the page."), toolUse("write_to_file", { path: "index.html", content: "<h1>Hi ✓</h1>\n" })] },
      { content: [toolUse("read_file", { path: "index.html" })] },
      { content: [toolUse("attempt_completion", { summary: "A hello page." })] },
    ]);
    const { outcome, events } = run(d.tools);
    const result = await outcome;
    expect(result.end).toBe("completed");
    expect(result.summary).toBe("A hello page.");
    expect(result.turns).toBe(3);
    expect(d.calls).toEqual(["sandbox.write index.html", "vfs.save index.html", "sandbox.read index.html", "check"]);
    expect(d.vfsFiles.get("index.html")).toBe("<h1>Hi ✓</h1>\n");
    expect(events.filter((e) => e.type === "text").map((e) => (e as { text: string }).text).join("")).toBe("Writing the page.");
    const finished = events.filter((e) => e.type === "tool_finished");
    expect(finished.map((e) => (e as { name: string }).name)).toEqual(["write_to_file", "read_file", "attempt_completion"]);
    expect(d.calls.at(-1)).toBe("check");
    expect(fake.protocolErrors).toEqual([]);
    expect(result.usage.cacheWriteTokens + result.usage.cacheReadTokens).toBeGreaterThan(0);
    expect(result.usage.outputTokens).toBeGreaterThan(0);
  });

  it("puts cache_control on both system blocks, the tools and the conversation's newest block: four, Anthropic's limit", async () => {
    const d = doubles();
    const before = fake.requests.length;
    fake.setScript([{ content: [toolUse("write_to_file", { path: "a.txt", content: "a" })] }, { content: [toolUse("attempt_completion", { summary: "done" })] }]);
    await run(d.tools, { system: systemPrompt(LIMITS, { name: "vite-react", title: "Web app", notes: "Edit src/App.tsx." }) }).outcome;
    const second = fake.requests[before + 1]!.body!;
    const system = second.system as Anthropic.TextBlockParam[];
    expect(system.map((block) => block.cache_control)).toEqual([{ type: "ephemeral" }, { type: "ephemeral" }]);
    expect(system[0]!.text).toBe(systemPrompt(LIMITS, null)[0]!.text);
    expect(JSON.stringify(second).match(/"cache_control"/g)).toHaveLength(4);
    expect((second.tools!.at(-1) as { cache_control?: unknown }).cache_control).toEqual({ type: "ephemeral" });
    const lastMessage = second.messages.at(-1)!;
    expect(JSON.stringify((lastMessage.content as unknown[]).at(-1))).toContain('"cache_control"');
    // Only the newest message carries the breakpoint: earlier ones are sent as they were.
    expect(JSON.stringify(second.messages[0])).not.toContain("cache_control");
  });

  it("reports tool errors, unknown tools and invalid input as is_error results, and recovers", async () => {
    const d = doubles();
    fake.setScript((request, { callIndex }) => {
      if (callIndex === 0) return { content: [toolUse("read_file", { path: "missing.txt" }), toolUse("deploy_to_prod", {}), toolUse("write_to_file", { path: "x" })] };
      const results = lastToolResults(request);
      expect(results.map((r) => r.isError)).toEqual([true, true, true]);
      expect(results[0]!.text).toContain("cannot read missing.txt");
      expect(results[1]!.text).toContain('unknown tool "deploy_to_prod"');
      expect(results[2]!.text).toBe("invalid input: content: is required");
      return { content: [toolUse("attempt_completion", { summary: "recovered" })] };
    });
    const result = await run(d.tools).outcome;
    expect(result.end).toBe("completed");
    expect(fake.scriptErrors).toEqual([]);
  });

  it("falls back to the vfs when the sandbox cannot serve a file, and says so", async () => {
    const d = doubles({ sandboxMissing: new Set(["kept.txt"]) });
    d.vfsFiles.set("kept.txt", "from the backup");
    let seen = "";
    fake.setScript((request, { callIndex }) => {
      if (callIndex === 0) return { content: [toolUse("read_file", { path: "kept.txt" })] };
      seen = lastToolResults(request)[0]!.text;
      return { content: [toolUse("attempt_completion", { summary: "ok" })] };
    });
    await run(d.tools).outcome;
    expect(d.calls).toEqual(["sandbox.read kept.txt", "vfs.read kept.txt", "check"]);
    expect(seen).toContain("last backed-up version");
    expect(seen).toContain("from the backup");
  });

  it("continues after max_tokens, asking the model to split a truncated tool call", async () => {
    const d = doubles();
    let reply = "";
    fake.setScript((request, { callIndex }) => {
      if (callIndex === 0) return { content: [text("Here is a big file"), toolUse("write_to_file", { path: "big.txt", content: "x" })], stop_reason: "max_tokens" };
      const last = request.body!.messages.at(-1)!;
      reply = typeof last.content === "string" ? last.content : JSON.stringify(last.content);
      return { content: [toolUse("attempt_completion", { summary: "split it" })] };
    });
    const result = await run(d.tools).outcome;
    expect(result.end).toBe("completed");
    expect(reply).toContain("Split large files");
    expect(d.calls).toEqual(["check"]);
    expect(fake.protocolErrors).toEqual([]);
  });

  it("ends with a clear reason at the turn limit and at the token budget", async () => {
    const d = doubles();
    const forever = () => ({ content: [toolUse("read_file", { path: "nothing" })] });
    fake.setScript(forever);
    const turns = await run(d.tools, { limits: { ...LIMITS, maxTurns: 3 } }).outcome;
    expect(turns).toMatchObject({ end: "max_turns", summary: "stopped after 3 model turns (the turn limit)", turns: 3 });
    fake.setScript(() => ({ content: [toolUse("read_file", { path: "nothing" })], usage: { input_tokens: 600, output_tokens: 100 } }));
    const budget = await run(d.tools, { limits: { ...LIMITS, tokenBudget: 1500 } }).outcome;
    expect(budget.end).toBe("token_budget");
    expect(budget.turns).toBe(3);
    expect(budget.summary).toBe("stopped after using 2100 tokens (the budget is 1500)");
  });

  it("stops promptly when cancelled mid-stream", async () => {
    const d = doubles();
    fake.setScript([{ content: [text("a long answer ".repeat(200))], chunkDelayMs: 20 }]);
    const controller = new AbortController();
    const started = Date.now();
    const { outcome } = run(d.tools, { signal: controller.signal });
    setTimeout(() => controller.abort(), 150);
    const result = await outcome;
    expect(result.end).toBe("cancelled");
    expect(Date.now() - started).toBeLessThan(1500);
  });

  it("retries 429/529 through the SDK, and surfaces a final failure with the API's error type", async () => {
    const d = doubles();
    fake.setScript([
      { error: { status: 429, type: "rate_limit_error", message: "slow down", retryAfterMs: 5 } },
      { error: { status: 529, type: "overloaded_error", message: "Overloaded", retryAfterMs: 5 } },
      { content: [toolUse("attempt_completion", { summary: "after retries" })] },
    ]);
    expect((await run(d.tools).outcome).end).toBe("completed");
    const overloaded = { error: { status: 529, type: "overloaded_error", message: "Overloaded", retryAfterMs: 5 } };
    fake.setScript([overloaded, overloaded, overloaded]);
    const failed = await run(d.tools).outcome;
    expect(failed.end).toBe("api_error");
    expect(failed.summary).toBe("the model API failed (529 overloaded_error): Overloaded");
  });

  it("keeps files written during a vfs outage pending, and completes only once they reach the vfs", async () => {
    let vfsDown = true;
    const d = doubles({ vfsDown: () => vfsDown });
    fake.setScript((request, { callIndex }) => {
      if (callIndex === 0) return { content: [toolUse("write_to_file", { path: "a.txt", content: "A" }), toolUse("write_to_file", { path: "b.txt", content: "B" })] };
      if (callIndex === 1) {
        expect(lastToolResults(request).every((r) => r.text.includes("backup to the file store is pending"))).toBe(true);
        return { content: [toolUse("attempt_completion", { summary: "too early" })] };
      }
      if (callIndex === 2) {
        expect(lastToolResults(request)[0]).toMatchObject({ isError: true });
        vfsDown = false;
        return { content: [toolUse("attempt_completion", { summary: "all saved" })] };
      }
      throw new Error("unexpected turn");
    });
    const result = await run(d.tools).outcome;
    expect(result).toMatchObject({ end: "completed", summary: "all saved" });
    expect(Object.fromEntries(d.vfsFiles)).toEqual({ "a.txt": "A", "b.txt": "B" });
    expect(d.backups.size).toBe(0);
  });

  it("compacts older tool outputs when the conversation grows past its limit, keeping the newest whole", async () => {
    const d = doubles();
    d.sandboxFiles.set("big.txt", "y".repeat(1500));
    let lastRequestText = "";
    fake.setScript((request, { callIndex }) => {
      lastRequestText = JSON.stringify(request.body!.messages);
      if (callIndex < 5) return { content: [toolUse("read_file", { path: "big.txt" })] };
      return { content: [toolUse("attempt_completion", { summary: "done" })] };
    });
    const { outcome, events } = run(d.tools, { limits: { ...LIMITS, compactAboveTokens: 1500, loopGuard: { warnAfter: 3, stopAfter: 5 } } });
    const result = await outcome;
    expect(result.end).toBe("completed");
    expect(events.some((e) => e.type === "compacted")).toBe(true);
    expect(lastRequestText).toContain("[compacted: ");
    // The newest tool result still reaches the model whole.
    expect(lastRequestText).toContain("y".repeat(1500));
    expect(fake.protocolErrors).toEqual([]);
  });

  it("resumes a paused turn, and ends with a clear reason when the model refuses", async () => {
    const d = doubles();
    let resumedWith = "";
    fake.setScript((request, { callIndex }) => {
      if (callIndex === 0) return { content: [text("Thinking about it")], stop_reason: "pause_turn" };
      if (callIndex === 1) {
        resumedWith = JSON.stringify(request.body!.messages.at(-1));
        return { content: [toolUse("attempt_completion", { summary: "after the pause" })] };
      }
      throw new Error("unexpected turn");
    });
    const paused = await run(d.tools).outcome;
    expect(paused).toMatchObject({ end: "completed", summary: "after the pause", turns: 2 });
    expect(resumedWith).toContain('"role":"assistant"');
    expect(resumedWith).toContain("Thinking about it");

    fake.setScript([{ content: [text("I can't help with that.")], stop_reason: "refusal" }]);
    const refused = await run(d.tools).outcome;
    expect(refused).toMatchObject({ end: "refusal", summary: "the model declined to continue with this request" });
  });

  it("warns a model repeating a failing command, then stops the run with what was repeated", async () => {
    const d = doubles({ exec: async (command) => ({ exitCode: 1, output: `npm ERR! Missing script: "buld" (took ${Math.random()} s)`, timedOut: false }) });
    // Between the repeats the model rewrites the same file: that does not reset the guard.
    fake.setScript((request, { callIndex }) =>
      callIndex % 2 === 0
        ? { content: [toolUse("execute_command", { command: "npm run buld" })] }
        : { content: [toolUse("write_to_file", { path: "a.txt", content: "same" })] },
    );
    const { outcome, events } = run(d.tools, { limits: { ...LIMITS, maxTurns: 30, loopGuard: { warnAfter: 2, stopAfter: 4 } } });
    const result = await outcome;
    expect(result.end).toBe("repeated_failure");
    expect(result.summary).toBe("stopped: execute_command (npm run buld) failed the same way 4 times in a row");
    const guard = events.filter((e) => e.type === "loop_guard") as Extract<AgentEvent, { type: "loop_guard" }>[];
    expect(guard.map((e) => `${e.action} ${e.repeats}`)).toEqual(["warn 2", "warn 3", "stop 4"]);
    const warned = fake.requests.at(-4)?.body?.messages?.at(-1);
    expect(JSON.stringify(warned)).toContain("failed the same way 2 times");
    expect(d.calls.filter((c) => c.startsWith("sandbox.exec"))).toHaveLength(4);
  });

  it("does not stop a model whose repeated command fails differently each time (it is making progress)", async () => {
    let n = 0;
    const d = doubles({ exec: async () => ({ exitCode: 2, output: n++ < 5 ? `src/App.tsx(${n},1): error TS${1000 + n}: problem ${"abcdef"[n]}` : "", timedOut: false }) });
    fake.setScript((request, { callIndex }) => (callIndex < 6 ? { content: [toolUse("execute_command", { command: "npx tsc --noEmit" })] } : { content: [toolUse("attempt_completion", { summary: "Fixed." })] }));
    const { outcome, events } = run(d.tools, { limits: { ...LIMITS, maxTurns: 30, loopGuard: { warnAfter: 2, stopAfter: 3 } } });
    expect((await outcome).end).toBe("completed");
    expect(events.filter((e) => e.type === "loop_guard")).toEqual([]);
  });

  it("ends as checks_failed when the completion gate gives up, with the report as the reason", async () => {
    const d = doubles({ check: async () => devServerDown("nothing answered on port 5173", "SyntaxError: Unexpected token"), maxFailedCompletions: 2 });
    fake.setScript(() => ({ content: [toolUse("attempt_completion", { summary: "Done." })] }));
    const result = await run(d.tools).outcome;
    expect(result.end).toBe("checks_failed");
    expect(result.summary).toBe("the app still has errors: dev server: nothing answered on port 5173");
    expect(d.calls).toEqual(["check", "check"]);
  });

  it("says in words that the agent stopped without finishing when the model ends its turn without attempt_completion", async () => {
    fake.setScript([{ content: [text("Done.")] }]);
    const result = await run(doubles().tools).outcome;
    expect(result.end).toBe("end_turn");
    expect(result.summary).toBe("the agent stopped without finishing: Done.");
  });
});

describe("a run saved as it goes and resumed after the server died", () => {
  it("saves the model's tool calls before running them, and each result as it lands", async () => {
    const d = doubles();
    const saves: AgentProgress[] = [];
    let savedWhenRun: AgentProgress | undefined;
    const exec = d.tools.find((t) => t.name === "execute_command")!;
    const tools = d.tools.map((t) => (t === exec ? { ...t, run: (input: never, signal: AbortSignal) => ((savedWhenRun = saves.at(-1)), exec.run(input, signal)) } : t));
    fake.setScript([
      { content: [toolUse("execute_command", { command: "npm test" }), toolUse("read_file", { path: "a.txt" })] },
      { content: [toolUse("attempt_completion", { summary: "Tested." })] },
    ]);
    const result = await run(tools, { checkpoint: async (p) => void saves.push(structuredClone(p)) }).outcome;
    expect(result.end).toBe("completed");
    // The saved conversation ended with the call before the command ran: a takeover never runs it blind.
    expect(JSON.stringify(savedWhenRun?.messages.at(-1))).toContain('"npm test"');
    expect(saves.map((p) => `${p.turns}:${p.messages.length}`)).toEqual(["1:1", "1:2", "1:3", "1:3", "2:3", "2:4", "2:5"]);
  });

  it("answers the calls that were in flight as interrupted, never running them again, and goes on from the saved turn", async () => {
    const d = doubles();
    const resume: AgentProgress = {
      turns: 4,
      compactions: 1,
      messages: [
        { role: "user", content: "Build a hello page" },
        { role: "assistant", content: [{ type: "tool_use", id: "toolu_done", name: "write_to_file", input: { path: "a.txt", content: "a" } }, { type: "tool_use", id: "toolu_cut", name: "execute_command", input: { command: "npm install" } }] },
        { role: "user", content: [{ type: "tool_result", tool_use_id: "toolu_done", content: "wrote a.txt" }] },
      ],
    };
    fake.setScript([{ content: [toolUse("attempt_completion", { summary: "Resumed." })] }]);
    const { outcome, events } = run(d.tools, { resume, limits: { ...LIMITS, maxTurns: 5 } });
    const result = await outcome;
    expect(result).toMatchObject({ end: "completed", summary: "Resumed.", turns: 5 });
    expect(d.calls).toEqual(["check"]);
    const sent = fake.requests.at(-1)!.body!.messages;
    expect(sent.slice(0, 2)).toEqual(resume.messages.slice(0, 2));
    expect(lastToolResults(fake.requests.at(-1)!)).toEqual([
      { toolUseId: "toolu_done", text: "wrote a.txt", isError: false },
      { toolUseId: "toolu_cut", text: INTERRUPTED_TOOL_CALL, isError: true },
    ]);
    expect(events[0]).toMatchObject({ type: "tool_finished", id: "toolu_cut", ok: false, output: INTERRUPTED_TOOL_CALL });
    expect(fake.protocolErrors).toEqual([]);
  });

  it("counts the tokens earlier attempts used against the budget, as it counts their turns against the turn limit", async () => {
    const resume: AgentProgress = { turns: 1, compactions: 0, messages: [{ role: "user", content: "Build a hello page" }] };
    fake.setScript(() => ({ content: [toolUse("list_files", {})] }));
    const usedBefore = { inputTokens: 1499, outputTokens: 0, cacheReadTokens: 0, cacheWriteTokens: 0 };
    const result = await run(doubles().tools, { resume, usedBefore, limits: { ...LIMITS, tokenBudget: 1500 } }).outcome;
    expect(result.end).toBe("token_budget");
    expect(result.turns).toBe(2);
  });
});
