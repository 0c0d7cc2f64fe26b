import { describe, expect, it } from "vitest";
import { EventWriter } from "./event-writer";

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe("a job's events", () => {
  it("are stored in the order they happened, even when an earlier write is the slower one", async () => {
    const stored: string[] = [];
    const writer = new EventWriter(async (type, data) => void stored.push(`${type} ${"id" in data ? data.id : "text" in data ? data.text : ""}`), 10_000);
    // What the pipeline does for a tool_finished: record the job's counters, then append the event.
    for (const id of ["a", "b", "c"]) {
      void writer.event("tool_started", { id, name: "write_to_file" });
      writer.text(`after ${id} `);
      void writer.then(async () => {
        await sleep(30);
        stored.push(`tool_finished ${id}`);
      });
    }
    await writer.drain();
    expect(stored).toEqual([
      "tool_started a", "text after a ", "tool_finished a",
      "tool_started b", "text after b ", "tool_finished b",
      "tool_started c", "text after c ", "tool_finished c",
    ]);
  });

  it("gathers streamed text into one event until the next event or the flush interval", async () => {
    const stored: [string, unknown][] = [];
    const writer = new EventWriter(async (type, data) => void stored.push([type, data]), 20);
    for (const token of ["Hel", "lo", "!"]) writer.text(token);
    await sleep(60);
    writer.text("more");
    const usage = { inputTokens: 1, outputTokens: 3, cacheReadTokens: 0, cacheWriteTokens: 0 };
    void writer.event("usage", usage);
    await writer.drain();
    expect(stored).toEqual([["text", { text: "Hello!" }], ["text", { text: "more" }], ["usage", usage]]);
  });

  it("fails every later write once one fails, and says so when drained: the log never skips an event", async () => {
    const stored: string[] = [];
    const writer = new EventWriter(async (type) => {
      if (type === "compacted") throw new Error("the database is down");
      stored.push(type);
    });
    void writer.event("resumed", { attempt: 2, step: "generating" });
    void writer.event("compacted", { savedChars: 10 });
    void writer.event("restored", { files: 1, snapshotId: null });
    await expect(writer.drain()).rejects.toThrow("the database is down");
    expect(stored).toEqual(["resumed"]);
  });
});
