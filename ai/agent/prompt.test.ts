import { readdirSync, readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { agentDoubles } from "../../test/support/agent-doubles";
import { GUIDE, GUIDE_BUDGET_CHARS } from "./guide";
import type { AgentLimits } from "./loop";
import { systemPrompt } from "./prompt";

const LIMITS: AgentLimits = { maxTurns: 40, maxOutputTokens: 16_000, tokenBudget: 2_000_000, wallClockMs: 30 * 60_000, maxToolOutputChars: 30_000, compactAboveTokens: 120_000, loopGuard: { warnAfter: 3, stopAfter: 5 } };
const OTHER: AgentLimits = { maxTurns: 7, maxOutputTokens: 4096, tokenBudget: 50_000, wallClockMs: 5 * 60_000, maxToolOutputChars: 2000, compactAboveTokens: 10_000, loopGuard: { warnAfter: 3, stopAfter: 5 } };
const VITE = { name: "vite-react", title: "Web app", notes: "## Vite\nEdit `src/App.tsx`; components go in src/components." };
const TEMPLATES = new URL("../../templates/", import.meta.url);

/** The tools the agent really has, from the one registry. */
const tools = agentDoubles().tools;

describe("the system prompt", () => {
  it("is two text blocks whose first, the guide, is byte-identical whatever the limits and the template", () => {
    const prompts = [systemPrompt(LIMITS, VITE), systemPrompt(OTHER, null), systemPrompt(LIMITS, { name: "expo", title: "Mobile app", notes: "x" })];
    for (const blocks of prompts) {
      expect(blocks.map((b) => b.type)).toEqual(["text", "text"]);
      expect(blocks[0]!.text).toBe(GUIDE);
    }
    expect(new Set(prompts.map((blocks) => blocks[1]!.text)).size).toBe(prompts.length);
  });

  it(`keeps the guide within its budget of ${GUIDE_BUDGET_CHARS} characters`, () => {
    expect(GUIDE.length).toBeGreaterThan(2000);
    expect(GUIDE.length).toBeLessThanOrEqual(GUIDE_BUDGET_CHARS);
  });

  it("has nothing run-specific in the guide", () => {
    for (const value of [LIMITS.maxTurns, LIMITS.tokenBudget, LIMITS.maxOutputTokens, "vite-react", "Web app"]) expect(GUIDE).not.toContain(String(value));
  });

  it("gives the template's name, title and notes and every limit of the run in the context block", () => {
    const context = systemPrompt(LIMITS, VITE)[1]!.text;
    expect(context).toContain('"Web app" (vite-react)');
    expect(context).toContain(VITE.notes);
    for (const figure of ["at most 40 model turns", "16000 output tokens per response", "2000000 tokens in total", "30 minutes", "30000 characters"]) expect(context).toContain(figure);
  });

  it("tells a project without a template to choose a small stack", () => {
    const context = systemPrompt(OTHER, null)[1]!.text;
    expect(context).toContain("no template");
    expect(context).toContain("PORT");
    expect(context).toContain("at most 7 model turns");
  });

  it("carries the notes of every template in templates/", () => {
    const names = readdirSync(TEMPLATES, { withFileTypes: true }).filter((e) => e.isDirectory()).map((e) => e.name);
    expect(names.length).toBeGreaterThan(0);
    for (const name of names) {
      const manifest = JSON.parse(readFileSync(new URL(`${name}/kiln-template.json`, TEMPLATES), "utf8")) as { name: string; title: string; notes: string };
      expect(systemPrompt(LIMITS, manifest)[1]!.text).toContain(manifest.notes.trim());
    }
  });

  it("names every tool the agent has, and the input fields it tells the agent to use", () => {
    expect(tools.length).toBeGreaterThan(0);
    for (const tool of tools) expect(GUIDE, `the guide does not name ${tool.name}`).toContain(tool.name);
    const fields: [tool: string, field: string][] = [["replace_in_file", "old"], ["replace_in_file", "expected_sha256"], ["execute_command", "background"], ["attempt_completion", "dev_command"], ["attempt_completion", "port"]];
    for (const [name, field] of fields) expect(Object.keys(tools.find((t) => t.name === name)?.inputSchema.properties ?? {}), `${name}.${field}`).toContain(field);
  });
});
