import { describe, expect, it } from "vitest";
import { OutputCap } from "./output-cap";

const pushAll = (cap: OutputCap, ...chunks: string[]) => {
  for (const chunk of chunks) cap.push(Buffer.from(chunk));
  return cap;
};

describe("OutputCap", () => {
  it("keeps everything up to its limit, with no marker", () => {
    const cap = pushAll(OutputCap.even(10), "hello", "world");
    expect(cap.toString()).toBe("helloworld");
    expect(cap.droppedBytes).toBe(0);
  });

  it("keeps head and tail across chunk boundaries and marks what it dropped", () => {
    const cap = pushAll(OutputCap.even(6), "ab", "cdef", "ghij", "k", "lm");
    expect(cap.droppedBytes).toBe(7);
    expect(cap.toString()).toBe("abc\n[kiln: 7 bytes of output dropped here]\nklm");
  });

  it("stays bounded over many small chunks", () => {
    const cap = new OutputCap(4, 8);
    for (let i = 0; i < 10_000; i++) cap.push(Buffer.from(String(i % 10)));
    expect(cap.droppedBytes).toBe(10_000 - 12);
    expect(cap.toString()).toBe("0123\n[kiln: 9988 bytes of output dropped here]\n23456789");
  });

  it("keeps only a tail when it has no head", () => {
    const cap = pushAll(new OutputCap(0, 3), "abcdef");
    expect(cap.toString()).toBe("\n[kiln: 3 bytes of output dropped here]\ndef");
  });
});
