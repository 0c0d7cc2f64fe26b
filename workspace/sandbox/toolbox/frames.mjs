// The toolbox's wire format, shared by the server (toolbox-client.ts) and the toolbox inside the sandbox:
// a frame is [u32 BE header length][u32 BE body length][header: UTF-8 JSON object][body: raw bytes].
// Plain JavaScript with no imports: the toolbox runs on the sandbox's Node.js without a build step.

const PREFIX_BYTES = 8;

/** The bytes of one frame: a JSON-serialisable object and optional raw bytes. */
export function encodeFrame(header, body) {
  const head = Buffer.from(JSON.stringify(header), "utf8");
  const payload = body ?? Buffer.alloc(0);
  const prefix = Buffer.alloc(PREFIX_BYTES);
  prefix.writeUInt32BE(head.length, 0);
  prefix.writeUInt32BE(payload.length, 4);
  return Buffer.concat([prefix, head, payload]);
}

/**
 * Splits a byte stream into frames. A frame over `maxFrameBytes`, a header that is not a JSON object or
 * anything after a broken frame is a protocol error: `onError` is called once and nothing more is read.
 */
export class FrameReader {
  constructor(maxFrameBytes, onFrame, onError) {
    this.maxFrameBytes = maxFrameBytes;
    this.onFrame = onFrame;
    this.onError = onError;
    this.chunks = [];
    this.length = 0;
    this.broken = false;
  }

  push(chunk) {
    if (this.broken) return;
    this.chunks.push(chunk);
    this.length += chunk.length;
    while (!this.broken && this.length >= PREFIX_BYTES) {
      if (this.chunks[0].length < PREFIX_BYTES) this.chunks = [Buffer.concat(this.chunks)];
      const headLength = this.chunks[0].readUInt32BE(0);
      const bodyLength = this.chunks[0].readUInt32BE(4);
      if (headLength + bodyLength > this.maxFrameBytes) return this.fail(`a frame of ${headLength + bodyLength} bytes exceeds ${this.maxFrameBytes}`);
      const total = PREFIX_BYTES + headLength + bodyLength;
      // Copy a frame's bytes once, when all of them are here.
      if (this.length < total) return;
      const buffer = this.chunks.length === 1 ? this.chunks[0] : Buffer.concat(this.chunks);
      let header;
      try {
        header = JSON.parse(buffer.subarray(PREFIX_BYTES, PREFIX_BYTES + headLength).toString("utf8"));
      } catch {
        return this.fail("a frame header is not JSON");
      }
      if (typeof header !== "object" || header === null || Array.isArray(header)) return this.fail("a frame header is not a JSON object");
      const body = buffer.subarray(PREFIX_BYTES + headLength, total);
      const rest = buffer.subarray(total);
      this.chunks = rest.length > 0 ? [rest] : [];
      this.length = rest.length;
      this.onFrame(header, body);
    }
  }

  fail(reason) {
    this.broken = true;
    this.chunks = [];
    this.length = 0;
    this.onError(new Error(`toolbox protocol error: ${reason}`));
  }
}
