import { describe, expect, it } from "vitest";
import type { ExecRequest, WorkspaceApi } from "../../workspace/contract";
import { sandboxOf } from "./adapters";

/** A workspace that records the commands it is asked to run and answers with `stdout`. */
function recordingWorkspace(stdout = ""): { workspace: WorkspaceApi; commands: string[] } {
  const commands: string[] = [];
  const workspace = {
    async exec(req: ExecRequest) {
      commands.push(req.command);
      return { exitCode: 0, output: stdout, stdout, stderr: "", timedOut: false, cancelled: false, droppedBytes: 0, durationMs: 1 };
    },
  } as unknown as WorkspaceApi;
  return { workspace, commands };
}

describe("the agent's sandbox on the workspace contract", () => {
  it.each(["/etc", "../../..", "-r", "src/--include=x", "a\u0000b"])("refuses to search under %j before any command runs", async (path) => {
    const { workspace, commands } = recordingWorkspace();
    await expect(sandboxOf(workspace, "wsp_1").searchFiles("root", path)).rejects.toMatchObject({ code: "invalid_argument", message: expect.stringMatching(/^path: path "/) });
    expect(commands).toEqual([]);
  });

  it("searches the normalised directory (the project for the root) with the pattern and path quoted after --", async () => {
    const { workspace, commands } = recordingWorkspace("./src/a.ts:3:export const a = 1;\nnoise\n");
    const sandbox = sandboxOf(workspace, "wsp_1");
    expect(await sandbox.searchFiles("it's", "./src/")).toEqual([{ path: "src/a.ts", line: 3, text: "export const a = 1;" }]);
    await sandbox.searchFiles("x", "");
    expect(commands[0]).toContain(`-e 'it'\\''s' -- 'src' |`);
    expect(commands[1]).toContain(`-e 'x' -- '.' |`);
  });
});
