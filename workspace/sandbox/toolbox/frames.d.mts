/** The bytes of one frame: a JSON-serialisable object and optional raw bytes. */
export function encodeFrame(header: object, body?: Buffer): Buffer;

/** Splits a byte stream into frames; see frames.mjs. */
export class FrameReader {
  constructor(maxFrameBytes: number, onFrame: (header: Record<string, unknown>, body: Buffer) => void, onError: (err: Error) => void);
  push(chunk: Buffer): void;
}
