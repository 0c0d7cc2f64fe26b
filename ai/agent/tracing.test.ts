import Anthropic from "@anthropic-ai/sdk";
import { InMemorySpanExporter, NodeTracerProvider, SimpleSpanProcessor } from "@opentelemetry/sdk-trace-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startFakeAnthropic, toolUse, type FakeAnthropic } from "../../test/fakes/anthropic/server";
import { agentDoubles } from "../../test/support/agent-doubles";
import { runAgent } from "./loop";

const exporter = new InMemorySpanExporter();
const provider = new NodeTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] });
let fake: FakeAnthropic;

beforeAll(async () => {
  provider.register();
  fake = await startFakeAnthropic();
});
afterAll(async () => {
  await fake?.close();
  await provider.shutdown();
});

describe("traces of an agent run", () => {
  it("has a span per model call with token counts, and one per tool call with its outcome", async () => {
    const d = agentDoubles();
    fake.setScript([
      { content: [toolUse("write_to_file", { path: "a.txt", content: "a" })], usage: { input_tokens: 120, output_tokens: 30 } },
      { content: [toolUse("read_file", { path: "missing.txt" })] },
      { content: [toolUse("attempt_completion", { summary: "done" })] },
    ]);
    const outcome = await runAgent({
      client: new Anthropic({ apiKey: "sk-test", baseURL: fake.baseURL, maxRetries: 0 }),
      model: "claude-sonnet-5-5",
      system: [{ type: "text", text: "s" }],
      tools: d.tools,
      history: [],
      prompt: "go",
      limits: { maxTurns: 5, maxOutputTokens: 1000, tokenBudget: 1_000_000, wallClockMs: 10_000, maxToolOutputChars: 1000, compactAboveTokens: 100_000, loopGuard: { warnAfter: 3, stopAfter: 5 } },
      signal: new AbortController().signal,
      onEvent: () => undefined,
    });
    expect(outcome.end).toBe("completed");
    const spans = exporter.getFinishedSpans();
    const models = spans.filter((s) => s.name === "model.call");
    expect(models).toHaveLength(3);
    expect(models[0]!.attributes).toMatchObject({ "gen_ai.request.model": "claude-sonnet-5-5", "gen_ai.usage.input_tokens": 120, "gen_ai.usage.output_tokens": 30, "kiln.stop_reason": "tool_use" });
    const tools = spans.filter((s) => s.name.startsWith("tool "));
    expect(tools.map((s) => [s.name, s.attributes["kiln.tool.ok"]])).toEqual([
      ["tool write_to_file", true],
      ["tool read_file", false],
      ["tool attempt_completion", true],
    ]);
  });
});
