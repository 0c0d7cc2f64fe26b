import { describe, expect, it } from "vitest";
import { newId } from "./ids";

describe("newId", () => {
  it("is prefixed, unique, and sorts by creation time", () => {
    const ids = Array.from({ length: 1000 }, (_, i) => newId("prj", 1_700_000_000_000 + i));
    expect(new Set(ids).size).toBe(1000);
    expect([...ids].sort()).toEqual(ids);
    expect(ids[0]).toMatch(/^prj_[0-9a-z]{26}$/);
  });
});
