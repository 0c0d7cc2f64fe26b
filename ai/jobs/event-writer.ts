import type { EmitEvent, GenerationEventData, GenerationEventType } from "../contract";

/**
 * A job's events, written one at a time in the order they happened: a tool's `tool_finished` is stored
 * before the next call's `tool_started`, whatever each write costs. Streamed text is gathered so a fast
 * stream is not one database row per token: it is written when `flushMs` passes, when it grows past
 * `maxChars`, or before the next event.
 */
export class EventWriter {
  private buffer = "";
  private timer: NodeJS.Timeout | undefined;
  private tail: Promise<void> = Promise.resolve();

  constructor(
    private readonly emit: EmitEvent,
    private readonly flushMs = 150,
    private readonly maxChars = 4000,
  ) {}

  /** Adds streamed text. */
  text(chunk: string): void {
    this.buffer += chunk;
    if (this.buffer.length >= this.maxChars) this.flushText();
    else this.timer ??= setTimeout(() => this.flushText(), this.flushMs);
  }

  /** Runs `write` (which stores events) after everything that happened before it, buffered text first. */
  then(write: () => Promise<void>): Promise<void> {
    this.flushText();
    this.tail = this.tail.then(write);
    // Awaited by `drain`; a failed write fails every later one (the log never skips an event).
    this.tail.catch(() => undefined);
    return this.tail;
  }

  /** Appends one event after everything before it. */
  event<T extends GenerationEventType>(type: T, data: GenerationEventData[T]): Promise<void> {
    return this.then(() => this.emit(type, data));
  }

  /** Resolves once everything so far is written; rejects with the first write that failed. */
  drain(): Promise<void> {
    return this.then(async () => undefined);
  }

  private flushText(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    const text = this.buffer;
    this.buffer = "";
    if (text) {
      this.tail = this.tail.then(() => this.emit("text", { text }));
      this.tail.catch(() => undefined);
    }
  }
}
