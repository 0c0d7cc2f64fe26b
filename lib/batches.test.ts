import { describe, expect, it } from "vitest";
import { batchBySize, FILE_CALL_BODY_LIMIT, INTERNAL_CALL_BYTES, INTERNAL_CALL_FILES, inBatches } from "./batches";

const name = (n: number) => `file of ${n}`;

describe("batches of internal calls", () => {
  it("groups items in order under the budget, a bigger one alone", () => {
    const sizes = [600_000, 600_000, 600_000, 3_000_000, 100];
    expect(batchBySize(sizes, (n) => n, name)).toEqual([[600_000, 600_000], [600_000], [3_000_000], [100]]);
    expect(batchBySize(Array(2500).fill(1), (n) => n, name).map((b) => b.length)).toEqual([INTERNAL_CALL_FILES, INTERNAL_CALL_FILES, 500]);
    expect(INTERNAL_CALL_BYTES).toBeLessThan(2 * 1024 * 1024);
  });

  it("refuses a file no call could carry, before sending anything", async () => {
    const sent: number[] = [];
    const files = [{ path: "a", contentBase64: "" }, { path: "huge", contentBase64: "A".repeat(FILE_CALL_BODY_LIMIT) }];
    await expect(inBatches(files, async (batch) => sent.push(batch.length))).rejects.toMatchObject({ code: "resource_exhausted" });
    expect(sent).toEqual([]);
  });
});
