import type { EmitEvent, GenerationEventData, GenerationEventType } from "../contract";
import type { Transcript, TurnEvent } from "./store";

/** Stores events with the conversation they belong to, in one transaction (JobContext.saveTurn). */
export type SaveTurn = (events: TurnEvent[], transcript: Transcript | null) => Promise<void>;

/**
 * A job's events, written one at a time in the order they happened: a tool's `tool_finished` is stored
 * before the next call's `tool_started`, whatever each write costs. Streamed text is gathered so a fast
 * stream is not one database row per token: it is written when `flushMs` passes, when it grows past
 * `maxChars`, or before the next event. Events of a turn (a tool's result, a response's usage, a
 * compaction) wait for the checkpoint that saves the conversation with them, and are stored in its
 * transaction: a crash never leaves a result in the log that the saved conversation lacks (it would be
 * answered as interrupted, and logged twice). Any other event, and `drain`, stores them first alone.
 */
export class EventWriter {
  private buffer = "";
  private timer: NodeJS.Timeout | undefined;
  private tail: Promise<void> = Promise.resolve();
  private held: TurnEvent[] = [];

  constructor(
    private readonly emit: EmitEvent,
    private readonly saveTurn: SaveTurn,
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
    return this.queue(write);
  }

  /** Appends one event after everything before it. */
  event<T extends GenerationEventType>(type: T, data: GenerationEventData[T]): Promise<void> {
    return this.then(async () => {
      await this.flushHeld();
      await this.emit(type, data);
    });
  }

  /** Appends an event of the turn the next `checkpoint` saves: stored in that checkpoint's transaction. */
  turnEvent(event: TurnEvent): Promise<void> {
    return this.then(async () => void this.held.push(event));
  }

  /** Saves the conversation after everything before it, with the turn's events held until now. */
  checkpoint(transcript: Transcript): Promise<void> {
    return this.then(() => this.saveTurn(this.held.splice(0), transcript));
  }

  /** Resolves once everything so far is written; rejects with the first write that failed. */
  drain(): Promise<void> {
    return this.then(() => this.flushHeld());
  }

  private queue(write: () => Promise<void>): Promise<void> {
    this.tail = this.tail.then(write);
    // Awaited by `drain`; a failed write fails every later one (the log never skips an event).
    this.tail.catch(() => undefined);
    return this.tail;
  }

  private async flushHeld(): Promise<void> {
    if (this.held.length > 0) await this.saveTurn(this.held.splice(0), null);
  }

  private flushText(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    const text = this.buffer;
    this.buffer = "";
    if (text) {
      this.queue(async () => {
        await this.flushHeld();
        await this.emit("text", { text });
      });
    }
  }
}
