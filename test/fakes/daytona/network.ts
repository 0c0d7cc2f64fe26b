/**
 * The network between Kiln and Daytona, as the fake can impose it: none by default (answers come at
 * once, as before); with a round-trip time and a bandwidth, what a Kiln far from Daytona's toolbox
 * proxy pays per request, so a comparison of many small requests against a few large ones is honest.
 */

/** Latency knobs of the fake; 0 and undefined leave the fake as fast as the machine. */
export interface FakeNetwork {
  /** Milliseconds every request costs before its answer starts (a round trip: half before, half after). */
  roundTripMs: number;
  /** Bytes per second of the one link every request shares, both directions; undefined: unlimited. */
  bytesPerSecond?: number;
}

/** A link with a round trip and a bandwidth shared by every request on it. */
export class SimulatedLink {
  private freeAt = 0;

  constructor(public settings: FakeNetwork = { roundTripMs: 0 }) {}

  /** Waits as a request of `bytes` travelling one way would (half the round trip, then its turn on the link). */
  async travel(bytes: number): Promise<void> {
    const { roundTripMs, bytesPerSecond } = this.settings;
    let until = performance.now() + roundTripMs / 2;
    if (bytesPerSecond && bytes > 0) {
      this.freeAt = Math.max(this.freeAt, until) + (bytes / bytesPerSecond) * 1000;
      until = this.freeAt;
    }
    const wait = until - performance.now();
    if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
  }
}
