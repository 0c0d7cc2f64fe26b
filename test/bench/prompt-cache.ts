/**
 * What prompt caching saves over a scripted 30-turn session (issue 15 item 4), measured from the fake's
 * recorded usage: the input the model API bills outside the cached prefix (uncached input, cache reads
 * weighted 0.1, cache writes 1.25) as a share of a naive loop that resends everything uncached.
 */
import Anthropic from "@anthropic-ai/sdk";
import { runAgent, type AgentLimits } from "../../ai/agent/loop";
import { systemPrompt } from "../../ai/agent/prompt";
import { agentDoubles } from "../support/agent-doubles";
import { startFakeAnthropic, toolUse, type ScriptFunction } from "../fakes/anthropic/server";
import type { BenchRow } from "./measure";

const TURNS = 30;

/** Turn by turn: write a file, run a command with a page of output, read a file back; completion last. */
const session: ScriptFunction = (request) => {
  const turn = request.body!.messages.filter((m) => m.role === "assistant").length;
  if (turn >= TURNS - 1) return { content: [toolUse("attempt_completion", { summary: "Done." })] };
  const path = `src/part${turn % 7}.ts`;
  switch (turn % 3) {
    case 0:
      return { content: [toolUse("write_to_file", { path, content: `export const part${turn} = ${JSON.stringify("x".repeat(1500))};\n` })] };
    case 1:
      return { content: [toolUse("execute_command", { command: "npm run build" })] };
    default:
      return { content: [toolUse("read_file", { path: `src/part${(turn - 2) % 7}.ts` })] };
  }
};

/** The billed share of one session's input, compacting above `compactAboveTokens`. */
export async function cachedInputShare(compactAboveTokens: number): Promise<{ share: number; requests: number; compactions: number }> {
  const fake = await startFakeAnthropic({ script: session });
  try {
    const doubles = agentDoubles({ exec: async () => ({ exitCode: 0, output: "vite v7 building for production...\n".repeat(60), timedOut: false }) });
    const limits: AgentLimits = { maxTurns: TURNS, maxOutputTokens: 4096, tokenBudget: 10_000_000, wallClockMs: 60_000, maxToolOutputChars: 20_000, compactAboveTokens, loopGuard: { warnAfter: 50, stopAfter: 60 } };
    let compactions = 0;
    const outcome = await runAgent({
      client: new Anthropic({ apiKey: "sk-bench", baseURL: fake.baseURL }),
      model: "claude-sonnet-5-5",
      system: systemPrompt(limits, null),
      tools: doubles.tools,
      history: [],
      prompt: "Build the app in parts.",
      limits,
      signal: new AbortController().signal,
      onEvent: (event) => void (event.type === "compacted" && compactions++),
    });
    if (outcome.end !== "completed") throw new Error(`the session ended ${outcome.end}: ${outcome.summary}`);
    let billed = 0;
    let naive = 0;
    for (const request of fake.requests) {
      const response = request.response;
      if (response?.kind !== "message") continue;
      const { input_tokens, cache_read_input_tokens, cache_creation_input_tokens } = response.message.usage;
      billed += input_tokens + 0.1 * (cache_read_input_tokens ?? 0) + 1.25 * (cache_creation_input_tokens ?? 0);
      naive += input_tokens + (cache_read_input_tokens ?? 0) + (cache_creation_input_tokens ?? 0);
    }
    return { share: billed / naive, requests: fake.requests.length, compactions };
  } finally {
    await fake.close();
  }
}

/** The benchmark's rows: a session that never compacts, and one whose conversation outgrows the threshold. */
export async function benchPromptCache(): Promise<BenchRow[]> {
  const plain = await cachedInputShare(1_000_000);
  const compacted = await cachedInputShare(12_000);
  return [
    { benchmark: `prompt cache, ${plain.requests} turns`, measure: "billed input / naive uncached input", value: plain.share.toFixed(3), note: "target ≤ 0.20; no compaction" },
    { benchmark: `prompt cache, ${compacted.requests} turns, compacting`, measure: "billed input / naive uncached input", value: compacted.share.toFixed(3), note: `target ≤ 0.20; ${compacted.compactions} compaction(s)` },
  ];
}
