import { describe, expect, it } from "vitest";
import { cachedInputShare } from "../../test/bench/prompt-cache";

describe("prompt caching over a scripted 30-turn session", () => {
  it("bills at most 0.20 of a naive uncached loop's input, without compaction and with one", async () => {
    const plain = await cachedInputShare(1_000_000);
    expect(plain.compactions).toBe(0);
    expect(plain.share).toBeLessThanOrEqual(0.2);
    const compacted = await cachedInputShare(12_000);
    expect(compacted.compactions).toBe(1);
    expect(compacted.share).toBeLessThanOrEqual(0.2);
  });

  it("compacts rarely: a conversation that stays over the threshold is swept again only after growing by half of it", async () => {
    // Sweeping at every turn over the threshold rewrote the cached prefix 11 times here (0.46 of naive).
    const tight = await cachedInputShare(6_000);
    expect(tight.compactions).toBeLessThanOrEqual(3);
    expect(tight.share).toBeLessThan(0.3);
  });
});
