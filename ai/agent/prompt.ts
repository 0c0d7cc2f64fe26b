import type Anthropic from "@anthropic-ai/sdk";
import { GUIDE } from "./guide";
import type { AgentLimits } from "./loop";

/** The model Kiln uses unless `KILN_MODEL` says otherwise. */
export const DEFAULT_MODEL = "claude-sonnet-5-5";

/** What the prompt says about the project's starter: the template's name, title and notes for the agent. */
export interface PromptTemplate {
  name: string;
  title: string;
  notes: string;
}

const NO_TEMPLATE = `This project has no template: it starts empty, or with the files earlier turns wrote. Choose a small stack that fits the request (plain HTML, CSS and JavaScript served by a tiny Node server for a simple site; Vite with React and TypeScript for an interactive app), install what it needs with npm, and give package.json a "dev" script that listens on 0.0.0.0 on the port in PORT. Pass dev_command and port to attempt_completion when package.json does not say them.`;

/**
 * The system prompt as two blocks: [0] the agent's guide, byte-identical for every run so it stays in
 * the prompt cache; [1] this run's context, the project's template and the run's limits.
 */
export function systemPrompt(limits: AgentLimits, template: PromptTemplate | null): Anthropic.TextBlockParam[] {
  const project = template
    ? `The project starts from the template "${template.title}" (${template.name}). Kiln runs its dev server; your saved files show in the preview through hot reload. Its notes:\n\n${template.notes.trim()}`
    : NO_TEMPLATE;
  const context = `# Project context

${project}

# Limits of this run

- at most ${limits.maxTurns} model turns;
- ${limits.maxOutputTokens} output tokens per response (split large files across several edits);
- ${limits.tokenBudget} tokens in total, input and output;
- ${Math.round(limits.wallClockMs / 60000)} minutes of wall-clock time;
- tool output beyond ${limits.maxToolOutputChars} characters is cut in the middle, so ask for what you need (search_files, head, tail) rather than whole logs.`;
  return [
    { type: "text", text: GUIDE },
    { type: "text", text: context },
  ];
}
