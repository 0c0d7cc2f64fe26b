import { afterEach, describe, expect, it, vi } from "vitest";
import { SimulatedLink } from "./network";

afterEach(() => {
  vi.useRealTimers();
});

/** Whether `promise` has settled once the timers up to now have run. */
async function settled(promise: Promise<unknown>): Promise<boolean> {
  let done = false;
  void promise.then(() => (done = true));
  await vi.advanceTimersByTimeAsync(0);
  return done;
}

describe("the fake Daytona's network", () => {
  it("by default costs nothing: a request travels at once", async () => {
    vi.useFakeTimers({ toFake: ["setTimeout", "performance"] });
    expect(await settled(new SimulatedLink().travel(10_000_000))).toBe(true);
  });

  it("with a round trip, each way waits half of it", async () => {
    vi.useFakeTimers({ toFake: ["setTimeout", "performance"] });
    const link = new SimulatedLink({ roundTripMs: 20 });
    const trip = link.travel(0);
    await vi.advanceTimersByTimeAsync(9);
    expect(await settled(trip)).toBe(false);
    await vi.advanceTimersByTimeAsync(1);
    expect(await settled(trip)).toBe(true);
  });

  it("with a bandwidth, requests share the link: the second waits for the first's bytes", async () => {
    vi.useFakeTimers({ toFake: ["setTimeout", "performance"] });
    const link = new SimulatedLink({ roundTripMs: 0, bytesPerSecond: 1_000_000 });
    const first = link.travel(100_000);
    const second = link.travel(100_000);
    await vi.advanceTimersByTimeAsync(100);
    expect(await settled(first)).toBe(true);
    expect(await settled(second)).toBe(false);
    await vi.advanceTimersByTimeAsync(100);
    expect(await settled(second)).toBe(true);
  });
});
