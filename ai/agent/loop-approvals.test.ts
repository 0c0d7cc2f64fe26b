import Anthropic from "@anthropic-ai/sdk";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startFakeAnthropic, text, toolUse, type FakeAnthropic } from "../../test/fakes/anthropic/server";
import { agentDoubles } from "../../test/support/agent-doubles";
import { INTERRUPTED_TOOL_CALL, runAgent, type AgentApprovals, type AgentLimits, type AgentProgress } from "./loop";

let fake: FakeAnthropic;
beforeAll(async () => {
  fake = await startFakeAnthropic();
});
afterAll(async () => {
  await fake?.close();
});

const LIMITS: AgentLimits = { maxTurns: 10, maxOutputTokens: 4096, tokenBudget: 1_000_000, wallClockMs: 30_000, maxToolOutputChars: 2000, compactAboveTokens: 100_000, loopGuard: { warnAfter: 3, stopAfter: 5 } };

function run(approvals: AgentApprovals, overrides: Partial<Parameters<typeof runAgent>[0]> = {}) {
  const d = agentDoubles({ exec: async (command) => ({ exitCode: 0, output: `ran ${command}`, timedOut: false }) });
  const outcome = runAgent({
    client: new Anthropic({ apiKey: "sk-test", baseURL: fake.baseURL, maxRetries: 0 }),
    model: "claude-sonnet-4-6",
    system: [{ type: "text", text: "You build apps." }],
    tools: d.tools,
    history: [],
    prompt: "Run it",
    limits: LIMITS,
    signal: new AbortController().signal,
    onEvent: () => undefined,
    approvals,
    ...overrides,
  });
  return { outcome, d };
}

const lastResults = () => {
  const content = fake.requests.at(-1)!.body!.messages.at(-1)!.content;
  return (content as Anthropic.ToolResultBlockParam[]).map((b) => [b.content, b.is_error === true]);
};

describe("the agent loop with approvals", () => {
  it("does not count the wait for an answer against the run's time limit", async () => {
    fake.setScript([{ content: [toolUse("execute_command", { command: "npm test" })] }, { content: [text("Done.")] }]);
    const slowAnswer: AgentApprovals = { decide: () => new Promise((resolve) => setTimeout(() => resolve(null), 2000)), undecided: async () => false };
    const { outcome, d } = run(slowAnswer, { limits: { ...LIMITS, wallClockMs: 1500 } });
    const result = await outcome;
    expect(result.end).toBe("end_turn");
    expect(d.calls).toEqual(["sandbox.exec npm test"]);
  });

  it("sends a refusal as the tool's result without running it", async () => {
    fake.setScript([{ content: [toolUse("execute_command", { command: "rm -rf src" })] }, { content: [text("Understood.")] }]);
    const { outcome, d } = run({ decide: async () => "denied by the user: no", undecided: async () => false });
    await outcome;
    expect(d.calls).toEqual([]);
    expect(lastResults()).toEqual([["denied by the user: no", true]]);
  });

  it("on resume decides a call still to be decided instead of answering it as interrupted; a call that was running is answered as interrupted", async () => {
    const saved = (ids: string[]): AgentProgress => ({
      turns: 1,
      compactions: 0,
      messages: [
        { role: "user", content: "Run it" },
        { role: "assistant", content: ids.map((id) => ({ type: "tool_use" as const, id, name: "execute_command", input: { command: `echo ${id}` } })) },
        { role: "user", content: [{ type: "tool_result", tool_use_id: ids[0]!, content: "exit code 0\nfirst" }] },
      ],
    });
    fake.setScript([{ content: [text("Done.")] }, { content: [text("Done.")] }]);
    const asked: string[] = [];
    const waiting: AgentApprovals = { decide: async (call) => (asked.push(call.id), null), undecided: async (id) => id === "toolu_b" };
    const resumed = run(waiting, { resume: saved(["toolu_a", "toolu_b", "toolu_c"]) });
    await resumed.outcome;
    expect(asked).toEqual(["toolu_b", "toolu_c"]);
    expect(resumed.d.calls).toEqual(["sandbox.exec echo toolu_b", "sandbox.exec echo toolu_c"]);
    expect(lastResults().map(([content]) => content)).toEqual(["exit code 0\nfirst", "exit code 0\nran echo toolu_b", "exit code 0\nran echo toolu_c"]);

    const running = run({ decide: async () => null, undecided: async () => false }, { resume: saved(["toolu_a", "toolu_b"]) });
    await running.outcome;
    expect(running.d.calls).toEqual([]);
    expect(lastResults()).toEqual([["exit code 0\nfirst", false], [INTERRUPTED_TOOL_CALL, true]]);
  });
});
