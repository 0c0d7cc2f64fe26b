import { decodeDocument, encodeDocument, isPlainDocument, type Doc } from "./bson-values.js";

const OP_REPLY = 1;
const OP_QUERY = 2004;
const OP_MSG = 2013;
const HEADER_SIZE = 16;
/** Largest message accepted, matching `maxMessageSizeBytes` in the hello reply. */
const MAX_MESSAGE_SIZE = 48_000_000;

const CHECKSUM_PRESENT = 1 << 0;
const MORE_TO_COME = 1 << 1;
/** OP_MSG flag bits 0-15 are "required": a receiver must fail on ones it does not know. */
const REQUIRED_FLAG_BITS = 0xffff;

/** A command received from a client. */
export interface CommandRequest {
  requestId: number;
  /** Legacy OP_QUERY requests (the driver's first handshake) are answered with OP_REPLY. */
  legacy: boolean;
  databaseName: string;
  command: Doc;
  /** The client expects no reply (OP_MSG moreToCome, e.g. unacknowledged w:0 writes). */
  moreToCome: boolean;
}

/** Bytes that are not a valid request; the connection should be closed. */
class WireProtocolError extends Error {}

/** Splits a TCP byte stream into whole wire-protocol messages. */
export class MessageSplitter {
  private chunks: Buffer[] = [];
  private buffered = 0;

  /** Adds received bytes and returns every message now complete. */
  push(chunk: Buffer): Buffer[] {
    this.chunks.push(chunk);
    this.buffered += chunk.length;
    const messages: Buffer[] = [];
    while (this.buffered >= 4) {
      const length = this.head().readInt32LE(0);
      if (length < HEADER_SIZE || length > MAX_MESSAGE_SIZE) throw new WireProtocolError(`invalid message length ${length}`);
      if (this.buffered < length) break;
      const bytes = this.head(length);
      messages.push(bytes.subarray(0, length));
      this.chunks = bytes.length > length ? [bytes.subarray(length)] : [];
      this.buffered -= length;
    }
    return messages;
  }

  /** The first chunk, merged with the following ones until it holds at least `minimum` bytes. */
  private head(minimum = 4): Buffer {
    if (this.chunks[0].length < minimum) this.chunks = [Buffer.concat(this.chunks)];
    return this.chunks[0];
  }
}

function readCString(message: Buffer, offset: number): [value: string, next: number] {
  const end = message.indexOf(0, offset);
  if (end < 0) throw new WireProtocolError("unterminated string");
  return [message.toString("utf8", offset, end), end + 1];
}

/** Decodes the BSON document at `offset`; returns it and the offset just after it. */
function readDocument(message: Buffer, offset: number, end: number): [doc: Doc, next: number] {
  const size = offset + 4 <= end ? message.readInt32LE(offset) : 0;
  if (size < 5 || offset + size > end) throw new WireProtocolError("malformed BSON document");
  return [decodeDocument(message.subarray(offset, offset + size)), offset + size];
}

/** Parses one whole message (as returned by MessageSplitter) into a command request. */
export function parseRequest(message: Buffer): CommandRequest {
  const requestId = message.readInt32LE(4);
  const opCode = message.readInt32LE(12);
  if (opCode === OP_MSG) return parseOpMsg(message, requestId);
  if (opCode === OP_QUERY) return parseOpQuery(message, requestId);
  throw new WireProtocolError(`unsupported opCode ${opCode}`);
}

/**
 * OP_MSG: flagBits, then sections. Kind 0 is the command body; each kind 1 section is a
 * document sequence merged into the body under its identifier (e.g. `documents`).
 */
function parseOpMsg(message: Buffer, requestId: number): CommandRequest {
  const flags = message.readUInt32LE(HEADER_SIZE);
  if (flags & REQUIRED_FLAG_BITS & ~(CHECKSUM_PRESENT | MORE_TO_COME)) throw new WireProtocolError(`unknown OP_MSG flags ${flags}`);
  const end = flags & CHECKSUM_PRESENT ? message.length - 4 : message.length;
  let offset = HEADER_SIZE + 4;
  let body: Doc | undefined;
  const sequences: [string, Doc[]][] = [];
  while (offset < end) {
    const kind = message[offset];
    if (kind === 0) {
      if (body) throw new WireProtocolError("OP_MSG with more than one body section");
      [body, offset] = readDocument(message, offset + 1, end);
    } else if (kind === 1) {
      const sectionEnd = offset + 1 + message.readInt32LE(offset + 1);
      if (sectionEnd > end) throw new WireProtocolError("malformed OP_MSG document sequence");
      const [identifier, firstDocument] = readCString(message, offset + 5);
      let cursor = firstDocument;
      const docs: Doc[] = [];
      while (cursor < sectionEnd) {
        let doc: Doc;
        [doc, cursor] = readDocument(message, cursor, sectionEnd);
        docs.push(doc);
      }
      sequences.push([identifier, docs]);
      offset = sectionEnd;
    } else {
      throw new WireProtocolError(`unknown OP_MSG section kind ${kind}`);
    }
  }
  if (!body) throw new WireProtocolError("OP_MSG without a body section");
  for (const [identifier, docs] of sequences) {
    const existing = body[identifier];
    body[identifier] = Array.isArray(existing) ? [...existing, ...docs] : docs;
  }
  if (typeof body.$db !== "string") throw new WireProtocolError("OP_MSG command without $db");
  return { requestId, legacy: false, databaseName: body.$db, command: body, moreToCome: (flags & MORE_TO_COME) !== 0 };
}

/** OP_QUERY is only accepted for commands (`<db>.$cmd`), which is how drivers send the first hello. */
function parseOpQuery(message: Buffer, requestId: number): CommandRequest {
  const [namespace, afterName] = readCString(message, HEADER_SIZE + 4);
  const [query] = readDocument(message, afterName + 8, message.length);
  const dot = namespace.indexOf(".");
  if (dot < 0 || namespace.slice(dot + 1) !== "$cmd") throw new WireProtocolError(`legacy OP_QUERY on ${namespace} is not supported`);
  const command = isPlainDocument(query.$query) ? query.$query : query;
  return { requestId, legacy: true, databaseName: namespace.slice(0, dot), command, moreToCome: false };
}

let nextResponseId = 1;

function header(totalLength: number, responseTo: number, opCode: number, extra: number): Buffer {
  const buffer = Buffer.alloc(HEADER_SIZE + extra);
  buffer.writeInt32LE(totalLength, 0);
  buffer.writeInt32LE(nextResponseId++ & 0x7fffffff, 4);
  buffer.writeInt32LE(responseTo, 8);
  buffer.writeInt32LE(opCode, 12);
  return buffer;
}

/** Encodes the reply to a request: OP_REPLY for legacy OP_QUERY, otherwise OP_MSG with one body section. */
export function encodeReply(request: CommandRequest, reply: Doc): Buffer {
  const body = encodeDocument(reply);
  if (request.legacy) {
    // responseFlags (4), cursorID (8), startingFrom (4), numberReturned (4)
    const prefix = header(HEADER_SIZE + 20 + body.length, request.requestId, OP_REPLY, 20);
    prefix.writeInt32LE(1, HEADER_SIZE + 16);
    return Buffer.concat([prefix, body]);
  }
  // flagBits (4), section kind 0 (1)
  const prefix = header(HEADER_SIZE + 5 + body.length, request.requestId, OP_MSG, 5);
  return Buffer.concat([prefix, body]);
}
