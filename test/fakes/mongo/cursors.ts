import { BSON, Long } from "bson";
import type { Doc } from "./bson-values.js";
import { badValue, CommandError } from "./errors.js";

/** Documents in a first batch when the client gives no batchSize (MongoDB's default). */
const DEFAULT_FIRST_BATCH_SIZE = 101;
/** A batch stops growing before it would pass this size, keeping replies under 16 MiB. */
const MAX_BATCH_BYTES = 16 * 1024 * 1024 - 64 * 1024;

interface OpenCursor {
  namespace: string;
  docs: Doc[];
  position: number;
}

/** How the first batch of a cursor is cut. */
export interface FirstBatchOptions {
  batchSize?: number;
  /** Close the cursor after the first batch even if documents remain. */
  singleBatch?: boolean;
}

/** Takes up to `maxCount` documents from `start`, also stopping at MAX_BATCH_BYTES. */
function takeBatch(docs: Doc[], start: number, maxCount: number): Doc[] {
  const batch: Doc[] = [];
  let bytes = 0;
  for (let i = start; i < docs.length && batch.length < maxCount; i++) {
    const size = BSON.calculateObjectSize(docs[i]);
    if (batch.length > 0 && bytes + size > MAX_BATCH_BYTES) break;
    batch.push(docs[i]);
    bytes += size;
  }
  return batch;
}

/** Server-side cursors: results are computed up front and handed out batch by batch. */
export class CursorRegistry {
  private readonly open = new Map<bigint, OpenCursor>();
  private nextId = 1n;

  /** The reply to a cursor-returning command: its first batch, keeping the rest for getMore. */
  firstBatch(namespace: string, docs: Doc[], { batchSize, singleBatch = false }: FirstBatchOptions): Doc {
    const batch = takeBatch(docs, 0, batchSize ?? DEFAULT_FIRST_BATCH_SIZE);
    let id = 0n;
    if (batch.length < docs.length && !singleBatch) {
      id = this.nextId++;
      this.open.set(id, { namespace, docs, position: batch.length });
    }
    return { cursor: { firstBatch: batch, id: Long.fromBigInt(id), ns: namespace }, ok: 1 };
  }

  /** The reply to getMore; `batchSize` 0 or undefined means "as many as fit". */
  nextBatch(id: bigint, namespace: string, batchSize: number | undefined): Doc {
    const cursor = this.open.get(id);
    if (!cursor) throw new CommandError("CursorNotFound", `cursor id ${id} not found`);
    if (cursor.namespace !== namespace) {
      throw badValue(`Requested getMore on namespace '${namespace}', but cursor belongs to a different namespace ${cursor.namespace}`);
    }
    const batch = takeBatch(cursor.docs, cursor.position, batchSize || Infinity);
    cursor.position += batch.length;
    const exhausted = cursor.position >= cursor.docs.length;
    if (exhausted) this.open.delete(id);
    return { cursor: { nextBatch: batch, id: Long.fromBigInt(exhausted ? 0n : id), ns: namespace }, ok: 1 };
  }

  /** Closes cursors; returns which ids were open and which were not. */
  kill(ids: bigint[]): { killed: bigint[]; notFound: bigint[] } {
    const killed = ids.filter((id) => this.open.delete(id));
    return { killed, notFound: ids.filter((id) => !killed.includes(id)) };
  }

  /** Forgets every cursor (a server restart does that). */
  clear(): void {
    this.open.clear();
  }
}
