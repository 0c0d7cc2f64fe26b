import { execFileSync } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { archiveReadScript, parseArchiveRead } from "./daytona-batch-read";

const project = mkdtempSync(join(tmpdir(), "kiln-archive-read-"));
afterAll(() => rmSync(project, { recursive: true, force: true }));

const long = `${"a-folder/".repeat(15)}file with spaces and 'quotes' é.txt`;
mkdirSync(join(project, long, ".."), { recursive: true });
writeFileSync(join(project, long), "deep");
writeFileSync(join(project, "one.txt"), "first");
writeFileSync(join(project, "two.txt"), "second!");
writeFileSync(join(project, "large.bin"), Buffer.alloc(5000, 1));
execFileSync("mkfifo", [join(project, "pipe")]);

/** What the script prints in the project, as Daytona's executeCommand runs it (bash -c). */
const run = (paths: string[], inline: number, budget: number) => execFileSync("bash", ["-c", archiveReadScript(paths, inline, budget)], { cwd: project, encoding: "utf8" });

describe("a batch read as one archive (Daytona)", () => {
  it("says what each path is and returns the small files' bytes, within the budget, never reading a FIFO", () => {
    const paths = ["one.txt", "a-folder", "missing.txt", "pipe", "large.bin", long, "two.txt"];
    expect(parseArchiveRead(run(paths, 4096, 12), paths)).toEqual([
      { kind: "file", size: 5, content: Buffer.from("first") },
      { kind: "dir" },
      { kind: "missing" },
      { kind: "other" },
      // Above the inline size: its size only, downloaded on its own.
      { kind: "file", size: 5000 },
      { kind: "file", size: 4, content: Buffer.from("deep") },
      // Past the budget (5 + 4 of 12 used): its size only.
      { kind: "file", size: 7 },
    ]);
  });

  it("answers nothing (the files are then read one by one) for output that is not what it printed", () => {
    const paths = ["one.txt", "two.txt"];
    const output = run(paths, 4096, 1 << 20);
    expect(parseArchiveRead(output, paths)).toHaveLength(2);
    expect(parseArchiveRead(output.replace("x 0", "x 2"), paths)).toBeUndefined();
    expect(parseArchiveRead(output, ["two.txt", "one.txt"])).toBeUndefined();
    expect(parseArchiveRead(output, ["one.txt"])).toBeUndefined();
    expect(parseArchiveRead(output.replace(/^t (.{20})/m, "t $1!"), paths)).toBeUndefined();
    expect(parseArchiveRead(`${output}more\n`, paths)).toBeUndefined();
    expect(parseArchiveRead("f 5\nf 7\nt \nx 0\n", paths)).toEqual([{ kind: "file", size: 5 }, { kind: "file", size: 7 }]);
    expect(parseArchiveRead("f 5\nq\nt \nx 0\n", paths)).toBeUndefined();
  });
});
