import { describe, expect, it } from "vitest";
import { LONE_SURROGATE, wellFormed } from "./unicode";

describe("wellFormed", () => {
  it("replaces lone surrogates with U+FFFD and keeps pairs", () => {
    expect(wellFormed("a\ud800b\udc00c")).toBe("a\ufffdb\ufffdc");
    expect(wellFormed("emoji-🙂 \ud83d\ude42")).toBe("emoji-🙂 \ud83d\ude42");
    expect(wellFormed("\udc00\ud800")).toBe("\ufffd\ufffd");
    expect(LONE_SURROGATE.test("🙂")).toBe(false);
    expect(LONE_SURROGATE.test("a\ud800")).toBe(true);
  });
});
