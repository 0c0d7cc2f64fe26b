import { execFileSync } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { tarFiles } from "./tar";

const dir = mkdtempSync(join(tmpdir(), "kiln-tar-test-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const long = `${"deep/".repeat(30)}name-ü.txt`;
mkdirSync(join(dir, long, ".."), { recursive: true });
writeFileSync(join(dir, long), "long name");
writeFileSync(join(dir, "small.txt"), "hello");
writeFileSync(join(dir, "empty"), "");
writeFileSync(join(dir, "big.bin"), Buffer.alloc(70_000, 7));
symlinkSync("small.txt", join(dir, "link"));

/** An archive made by this machine's tar (GNU tar), of `names` in `dir`. */
const tar = (names: string[], ...options: string[]) => execFileSync("tar", [...options, "-cf", "-", "--", ...names], { cwd: dir, maxBuffer: 1 << 24 });

describe("reading a tar archive from a sandbox", () => {
  it("gives the regular files in order, with GNU long names, pax paths, empty files and ones past a block", () => {
    const expected = [
      { name: "small.txt", content: Buffer.from("hello") },
      { name: long, content: Buffer.from("long name") },
      { name: "empty", content: Buffer.alloc(0) },
      { name: "big.bin", content: Buffer.alloc(70_000, 7) },
    ];
    expect(tarFiles(tar(["small.txt", long, "empty", "big.bin"]))).toEqual(expected);
    expect(tarFiles(tar(["small.txt", long, "empty", "big.bin"], "--format=pax"))).toEqual(expected);
    expect(tarFiles(tar(["./small.txt"], "-h"))).toEqual([{ name: "./small.txt", content: Buffer.from("hello") }]);
    // A symbolic link followed (-h) is its target's bytes.
    expect(tarFiles(tar(["link"], "-h"))).toEqual([{ name: "link", content: Buffer.from("hello") }]);
  });

  it("refuses an archive that is cut short, altered, padded with junk, or holds anything but regular files", () => {
    const good = tar(["small.txt", "big.bin"]);
    expect(tarFiles(good.subarray(0, 2048))).toBeUndefined();
    expect(tarFiles(good.subarray(0, 511))).toBeUndefined();
    const altered = Buffer.from(good);
    altered[0] = "S".charCodeAt(0);
    expect(tarFiles(altered)).toBeUndefined();
    const oversized = Buffer.from(good);
    oversized.write("77777777777\0", 124, "latin1");
    expect(tarFiles(oversized)).toBeUndefined();
    expect(tarFiles(Buffer.concat([good, Buffer.from("junk")]))).toBeUndefined();
    expect(tarFiles(tar(["link"]))).toBeUndefined();
    expect(tarFiles(tar(["deep"], "--no-recursion"))).toBeUndefined();
    expect(tarFiles(Buffer.alloc(0))).toBeUndefined();
  });
});
