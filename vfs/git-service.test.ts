import { describe, expect, it } from "vitest";
import { gitSlots } from "./git-service";

describe("gitSlots", () => {
  it("refuses past the per-owner and the overall limit, naming each, and frees a slot when its run ends, even by failing", async () => {
    const slot = gitSlots({ maxConcurrent: 3, maxConcurrentPerOwner: 2 });
    const gates: Array<() => void> = [];
    const held = (owner: string) => slot(owner, () => new Promise<void>((resolve) => gates.push(resolve)));
    const running = [held("alice"), held("alice"), held("bob")];
    await expect(held("alice")).rejects.toMatchObject({ code: "resource_exhausted", message: expect.stringContaining("KILN_GIT_MAX_CONCURRENT_PER_OWNER") });
    await expect(held("carol")).rejects.toMatchObject({ code: "resource_exhausted", message: expect.stringContaining("(KILN_GIT_MAX_CONCURRENT)") });
    gates.shift()!();
    await running[0];
    const again = held("carol");
    await expect(slot("dave", async () => "x")).rejects.toMatchObject({ code: "resource_exhausted" });
    for (const open of gates.splice(0)) open();
    await Promise.all([running[1], running[2], again]);
    await expect(slot("alice", async () => Promise.reject(new Error("git failed")))).rejects.toThrow("git failed");
    expect(await slot("alice", async () => "free")).toBe("free");
  });
});
