/**
 * A bounded capture of a byte stream: the first `headBytes` and the last `tailBytes` are kept, the middle
 * is dropped and counted. Memory stays bounded however much a command prints.
 */
export class OutputCap {
  private readonly head: Buffer[] = [];
  private headLength = 0;
  private tail: Buffer[] = [];
  private tailLength = 0;
  private dropped = 0;

  constructor(
    private readonly headBytes: number,
    private readonly tailBytes: number,
  ) {}

  /** A cap of `limit` bytes in all, split evenly between head and tail. */
  static even(limit: number): OutputCap {
    const head = Math.ceil(limit / 2);
    return new OutputCap(head, limit - head);
  }

  /** Bytes seen but not kept. */
  get droppedBytes(): number {
    return this.dropped;
  }

  /**
   * Counts `bytes` bytes as dropped from the middle without seeing them: for a capture made elsewhere that
   * kept only its head (pushed before, filling the head) and its tail (pushed after).
   */
  skip(bytes: number): void {
    this.dropped += bytes;
  }

  push(chunk: Buffer): void {
    const intoHead = Math.min(chunk.length, this.headBytes - this.headLength);
    if (intoHead > 0) {
      this.head.push(chunk.subarray(0, intoHead));
      this.headLength += intoHead;
    }
    const rest = chunk.subarray(intoHead);
    if (rest.length === 0) return;
    this.tail.push(rest);
    this.tailLength += rest.length;
    this.trimTail();
  }

  private trimTail(): void {
    let excess = this.tailLength - this.tailBytes;
    while (excess > 0) {
      const first = this.tail[0];
      const cut = Math.min(excess, first.length);
      if (cut === first.length) this.tail.shift();
      else this.tail[0] = first.subarray(cut);
      this.tailLength -= cut;
      this.dropped += cut;
      excess -= cut;
    }
    if (this.tail.length > 256) this.tail = [Buffer.concat(this.tail)];
  }

  /** The kept bytes, with a marker line where the middle was dropped. */
  toBuffer(): Buffer {
    const marker = this.dropped > 0 ? [Buffer.from(`\n[kiln: ${this.dropped} bytes of output dropped here]\n`)] : [];
    return Buffer.concat([...this.head, ...marker, ...this.tail]);
  }

  /** The kept output as UTF-8 text (a character cut at the drop shows as U+FFFD). */
  toString(): string {
    return this.toBuffer().toString("utf8");
  }
}
