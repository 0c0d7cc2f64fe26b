import type { Config } from "../lib/config";
import type { AgentLimits } from "./agent/loop";

/** The agent's limits from the configuration. */
export function agentLimits(config: Config): AgentLimits {
  return {
    maxTurns: config.maxTurns,
    maxOutputTokens: config.maxOutputTokens,
    tokenBudget: config.tokenBudget,
    wallClockMs: config.runTimeoutMs,
    maxToolOutputChars: 20_000,
    compactAboveTokens: 120_000,
    loopGuard: { warnAfter: config.loopWarnRepeats, stopAfter: Math.max(config.loopStopRepeats, config.loopWarnRepeats) },
  };
}
