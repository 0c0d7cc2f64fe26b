import { describe, expect, it } from "vitest";
import { EventWriter, type SaveTurn } from "./event-writer";
import type { Transcript } from "./store";

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

const noTurns: SaveTurn = async () => {
  throw new Error("no turn expected here");
};

const transcript = (turns: number): Transcript => ({ systemVersion: "v1", turns, messages: [{ role: "user", content: "build" }], compactions: 0, outcome: null });

describe("a job's events", () => {
  it("are stored in the order they happened, even when an earlier write is the slower one", async () => {
    const stored: string[] = [];
    const writer = new EventWriter(async (type, data) => void stored.push(`${type} ${"id" in data ? data.id : "text" in data ? data.text : ""}`), noTurns, 10_000);
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
    const writer = new EventWriter(async (type, data) => void stored.push([type, data]), noTurns, 20);
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
    }, noTurns);
    void writer.event("resumed", { attempt: 2, step: "generating" });
    void writer.event("compacted", { savedChars: 10 });
    void writer.event("restored", { files: 1, snapshotId: null });
    await expect(writer.drain()).rejects.toThrow("the database is down");
    expect(stored).toEqual(["resumed"]);
  });

  it("keeps a turn's events for the checkpoint that saves the conversation with them, and stores them first before any other event", async () => {
    const stored: string[] = [];
    const writer = new EventWriter(
      async (type) => void stored.push(type),
      async (events, saved) => void stored.push(`turn [${events.map((e) => e.type).join(", ")}]${saved ? ` with turn ${saved.turns}` : " alone"}`),
    );
    const usage = { inputTokens: 1, outputTokens: 2, cacheReadTokens: 0, cacheWriteTokens: 0 };
    void writer.turnEvent({ type: "usage", data: usage });
    void writer.checkpoint(transcript(1));
    void writer.event("tool_started", { id: "a", name: "write_to_file" });
    void writer.turnEvent({ type: "tool_finished", data: { id: "a", name: "write_to_file", input: {}, ok: true, output: "ok", durationMs: 1 } });
    void writer.checkpoint(transcript(2));
    void writer.turnEvent({ type: "compacted", data: { savedChars: 5 } });
    writer.text("more");
    await writer.drain();
    expect(stored).toEqual(["turn [usage] with turn 1", "tool_started", "turn [tool_finished] with turn 2", "turn [compacted] alone", "text"]);
  });
});
