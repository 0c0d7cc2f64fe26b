import type Anthropic from "@anthropic-ai/sdk";
import { describe, expect, it } from "vitest";
import { continuedConversation } from "./follow-up";

type MessageParam = Anthropic.MessageParam;

/** One earlier request: a prompt, a write of `size` characters and its result, an edit, then completion. */
function request(prompt: string, path: string, size: number): MessageParam[] {
  return [
    { role: "user", content: prompt },
    { role: "assistant", content: [{ type: "text", text: `Writing ${path}.` }, { type: "tool_use", id: `w_${path}`, name: "write_to_file", input: { path, content: "x".repeat(size) } }] },
    { role: "user", content: [{ type: "tool_result", tool_use_id: `w_${path}`, content: `wrote ${path}\n${"y".repeat(size)}` }] },
    { role: "assistant", content: [{ type: "tool_use", id: `c_${path}`, name: "attempt_completion", input: { summary: `Built ${path}.` } }] },
    { role: "user", content: [{ type: "tool_result", tool_use_id: `c_${path}`, content: `completed: Built ${path}.` }] },
  ];
}

describe("a follow-up continuing the project's conversation", () => {
  it("keeps every earlier tool call, with outputs and long inputs compacted, and the outcome as the assistant's last word", () => {
    const carried = continuedConversation(request("Build a page", "index.html", 5000), "Built index.html.", 100_000);
    expect(carried).toHaveLength(6);
    const write = (carried[1]!.content as Anthropic.ToolUseBlockParam[])[1]!;
    expect(write).toMatchObject({ name: "write_to_file", input: { path: "index.html", content: "[compacted: 5000 characters]" } });
    expect(carried[2]!.content).toEqual([{ type: "tool_result", tool_use_id: "w_index.html", content: "[compacted: 5017 characters of earlier output omitted]" }]);
    expect(carried.at(-1)).toEqual({ role: "assistant", content: "Built index.html." });
  });

  it("answers calls the earlier request left running as not finished, so the roles and results stay valid", () => {
    const cut: MessageParam[] = [
      { role: "user", content: "Install things" },
      { role: "assistant", content: [{ type: "tool_use", id: "t1", name: "execute_command", input: { command: "npm install" } }] },
    ];
    const carried = continuedConversation(cut, null, 100_000);
    expect(carried.map((m) => m.role)).toEqual(["user", "assistant", "user", "assistant"]);
    expect(JSON.stringify(carried[2])).toContain("not finished: the request ended while this ran");
    expect(carried[3]).toEqual({ role: "assistant", content: "(that request ended without a summary)" });
  });

  it("drops whole requests from the oldest while over the budget, and says what fell off", () => {
    // As saved: each follow-up's transcript carries the earlier ones, each ending with its summary.
    const summary = (text: string): MessageParam => ({ role: "assistant", content: text });
    const earlier = [...request("First: a page", "a.html", 100), summary("Built a.html."), ...request("Second: a style", "b.css", 100), summary("Built b.css."), ...request("Third: a script", "c.js", 100)];
    // A budget nothing fits: only the newest earlier request is kept.
    const carried = continuedConversation(earlier, "Built c.js.", 1);
    const first = carried[0]!.content as Anthropic.TextBlockParam[];
    expect(first[0]!.text).toBe('(Earlier in this project, no longer shown: 2 request(s): "First: a page"; "Second: a style"; files written or edited: a.html, b.css.)');
    expect(first[1]!.text).toBe("Third: a script");
    expect(JSON.stringify(carried)).not.toContain("a.html\"");
    expect(carried.map((m) => m.role)).toEqual(["user", "assistant", "user", "assistant", "user", "assistant"]);
  });
});
