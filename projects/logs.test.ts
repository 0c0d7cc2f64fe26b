import { describe, expect, it } from "vitest";
import type { DevServerLogs } from "../workspace/contract";
import { cleanLogs } from "./logs";

const logs = (output: string): DevServerLogs => ({ output, running: true, exitCode: null, command: "npm run dev", workspaceStatus: "running" });

describe("the dev server's output as the dashboard gets it", () => {
  it("removes terminal escapes, control characters and bidirectional overrides, and keeps the text", () => {
    const hostile = "\x1b[32m  VITE v8 ready\x1b[0m in 300 ms\r\n\x1b]0;title\x07➜  Local: http://localhost:5173/\rprogress 50%\x00\x08\u202etxt.exe\n";
    const { output } = cleanLogs(logs(hostile), 16_384);
    expect(output).toBe("  VITE v8 ready in 300 ms\n➜  Local: http://localhost:5173/\nprogress 50%txt.exe\n");
    expect(output).not.toMatch(/[\x00-\x08\x1b\u202e]/);
  });

  it("masks credentials a program printed", () => {
    const token = `kiln_${"A".repeat(43)}`;
    const { output } = cleanLogs(logs(`token=${token}\nkey sk-ant-api03-${"b".repeat(40)}\nshort kiln_abc stays\n`), 16_384);
    expect(output).not.toContain(token);
    expect(output).toBe("token=kiln_[redacted]\nkey sk-ant-[redacted]\nshort kiln_abc stays\n");
  });

  it("says when earlier output was left out, and drops the cut first line", () => {
    const whole = cleanLogs(logs("one\ntwo\n"), 100);
    expect(whole).toMatchObject({ output: "one\ntwo\n", truncated: false, running: true, command: "npm run dev" });
    const tail = cleanLogs(logs("ne\ntwo\nthree\n"), 13);
    expect(tail).toMatchObject({ output: "two\nthree\n", truncated: true });
  });
});
