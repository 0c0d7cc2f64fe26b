/**
 * Gathers streamed text so a fast stream is not one database row per token: text is written when
 * `flushMs` passes, when it grows past `maxChars`, or when anything else happens (`flush`).
 */
export class TextCoalescer {
  private buffer = "";
  private timer: NodeJS.Timeout | undefined;
  private writing: Promise<void> = Promise.resolve();

  constructor(
    private readonly write: (text: string) => Promise<void>,
    private readonly flushMs = 150,
    private readonly maxChars = 4000,
  ) {}

  add(text: string): void {
    this.buffer += text;
    if (this.buffer.length >= this.maxChars) void this.flush();
    else this.timer ??= setTimeout(() => void this.flush(), this.flushMs);
  }

  /** Writes what is buffered, after any write in progress (events stay in order). */
  flush(): Promise<void> {
    clearTimeout(this.timer);
    this.timer = undefined;
    const text = this.buffer;
    this.buffer = "";
    if (text) this.writing = this.writing.then(() => this.write(text));
    return this.writing;
  }
}
