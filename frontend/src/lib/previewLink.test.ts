import { describe, expect, it } from "vitest";
import { previewRefreshMs } from "./previewLink";

describe("when the dashboard asks for a fresh preview link", () => {
  const now = Date.parse("2026-12-02T12:00:00Z");
  const inSeconds = (seconds: number) => new Date(now + seconds * 1000).toISOString();

  it("never, for a link that does not expire", () => {
    expect(previewRefreshMs(null, now)).toBe(false);
  });

  it("with a fifth of the link's life left: past the half-TTL mark, where the server signs a new one", () => {
    expect(previewRefreshMs(inSeconds(3600), now)).toBe(2880_000);
    // A link handed out again with 40 min of its hour left is replaced with 8 min to go, not after it died.
    expect(previewRefreshMs(inSeconds(2400), now)).toBe(1920_000);
  });

  it("soon but not in a loop, for a link at or past its end", () => {
    expect(previewRefreshMs(inSeconds(2), now)).toBe(5_000);
    expect(previewRefreshMs(inSeconds(-30), now)).toBe(5_000);
  });
});
