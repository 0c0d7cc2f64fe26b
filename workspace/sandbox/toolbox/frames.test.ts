import { describe, expect, it } from "vitest";
import { encodeFrame, FrameReader } from "./frames.mjs";

function reader(maxFrameBytes = 1024) {
  const frames: Array<{ header: Record<string, unknown>; body: string }> = [];
  const errors: string[] = [];
  const frameReader = new FrameReader(maxFrameBytes, (header, body) => frames.push({ header, body: body.toString("utf8") }), (err) => errors.push(err.message));
  return { frameReader, frames, errors };
}

describe("toolbox frames", () => {
  it("reassembles frames split at every byte and several in one chunk", () => {
    const bytes = Buffer.concat([encodeFrame({ id: 1, op: "read" }, Buffer.from("first body")), encodeFrame({ id: 2 }), encodeFrame({ id: 3 }, Buffer.from("ü"))]);
    const split = reader();
    for (const byte of bytes) split.frameReader.push(Buffer.from([byte]));
    const whole = reader();
    whole.frameReader.push(bytes);
    for (const { frames, errors } of [split, whole]) {
      expect(errors).toEqual([]);
      expect(frames).toEqual([
        { header: { id: 1, op: "read" }, body: "first body" },
        { header: { id: 2 }, body: "" },
        { header: { id: 3 }, body: "ü" },
      ]);
    }
  });

  it("refuses an oversized frame, a header that is not a JSON object, and reads nothing after", () => {
    const cases: Array<[Buffer, string]> = [
      [encodeFrame({ id: 1 }, Buffer.alloc(2000)), "exceeds 1024"],
      [Buffer.concat([Buffer.from([0, 0, 0, 3, 0, 0, 0, 0]), Buffer.from("{x}")]), "not JSON"],
      [Buffer.concat([Buffer.from([0, 0, 0, 2, 0, 0, 0, 0]), Buffer.from("[]")]), "not a JSON object"],
      [Buffer.from([0xff, 0xff, 0xff, 0xff, 0, 0, 0, 0]), "exceeds"],
    ];
    for (const [bytes, problem] of cases) {
      const { frameReader, frames, errors } = reader();
      frameReader.push(bytes);
      frameReader.push(encodeFrame({ id: 9 }));
      expect(frames).toEqual([]);
      expect(errors).toHaveLength(1);
      expect(errors[0]).toContain(problem);
    }
  });
});
