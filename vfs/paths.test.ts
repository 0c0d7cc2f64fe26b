import { describe, expect, it } from "vitest";
import { ancestors, directoryPath, filePath, isWithin, underDirectory } from "./paths";

describe("vfs paths", () => {
  it("normalises harmless spellings of a relative path", () => {
    expect(filePath("path", "./src//components/./Button.tsx")).toBe("src/components/Button.tsx");
    expect(filePath("path", "src/")).toBe("src");
    expect(filePath("path", "名前/ファイル.txt")).toBe("名前/ファイル.txt");
    expect(directoryPath("prefix", undefined)).toBe("");
    expect(directoryPath("prefix", ".")).toBe("");
  });

  it("counts the length limit in UTF-8 bytes, not characters", () => {
    const segment = "é".repeat(120);
    const longest = `${[segment, segment, segment, segment].join("/")}/${"é".repeat(30)}`;
    expect(Buffer.byteLength(longest)).toBe(1024);
    expect(filePath("path", longest)).toBe(longest);
    expect(() => filePath("path", `${longest}é`)).toThrow("is longer than 1024 bytes");
    expect(() => filePath("path", 42)).toThrow("path: must be a string");
  });

  it("matches a directory's contents by range, never a sibling sharing its first letters", () => {
    const range = underDirectory("src") as { $gte: string; $lt: string };
    const inside = (p: string) => p >= range.$gte && p < range.$lt;
    expect(["src/a", "src/b/c", "src/~"].every(inside)).toBe(true);
    expect(["src", "src2/a", "src-old/a", "src.ts", "srca", "sr/c", "src0"].some(inside)).toBe(false);
    expect(underDirectory("")).toEqual({ $exists: true });
  });

  it("knows ancestors and containment", () => {
    expect(ancestors("a/b/c.ts")).toEqual(["a", "a/b"]);
    expect(ancestors("top.ts")).toEqual([]);
    expect(isWithin("src/a.ts", "src")).toBe(true);
    expect(isWithin("src2/a.ts", "src")).toBe(false);
    expect(isWithin("anything", "")).toBe(true);
  });
});
