import { Readable } from "node:stream";
import type { Sandbox } from "@daytonaio/sdk";
import { describe, expect, it } from "vitest";
import { readSandboxFiles } from "./daytona-files";
import type { SandboxLayout } from "./daytona-scripts";

const CHUNK = 64 * 1024;

/**
 * A sandbox whose one file measured 10 bytes and has grown to `grownBytes` by the time it is downloaded
 * (hostile code appending to it). Its downloads behave as the SDK's: `downloadFiles` collects each file
 * whole, `downloadFileStream` hands over a stream. `pulled` counts the bytes read from the file.
 */
function growingFile(grownBytes: number) {
  const state = { pulled: 0, destroyed: false };
  const source = () => {
    let left = grownBytes;
    return new Readable({
      read() {
        const size = Math.min(CHUNK, left);
        left -= size;
        state.pulled += size;
        this.push(size > 0 ? Buffer.alloc(size, 0x61) : null);
      },
      destroy(err, callback) {
        state.destroyed = true;
        callback(err);
      },
    });
  };
  const collect = async (stream: Readable) => {
    const chunks: Buffer[] = [];
    for await (const chunk of stream) chunks.push(chunk as Buffer);
    return Buffer.concat(chunks);
  };
  const sandbox = {
    id: "sbx-growing",
    process: { executeCommand: async () => ({ exitCode: 0, result: "f 10\n" }) },
    fs: {
      downloadFiles: async (files: Array<{ source: string }>) => Promise.all(files.map(async (file) => ({ source: file.source, result: await collect(source()) }))),
      downloadFileStream: async () => source(),
    },
  } as unknown as Sandbox;
  return { sandbox, state };
}

const layout = { home: "/home/daytona", project: "/home/daytona/project" } as SandboxLayout;

describe("reading a file that grows between its size check and its download (Daytona)", () => {
  it("stops the download just past the limit instead of holding the whole file", async () => {
    const limit = 1024 * 1024;
    const { sandbox, state } = growingFile(64 * 1024 * 1024);
    expect(await readSandboxFiles(sandbox, layout, ["log.txt"], ["log.txt"], limit)).toEqual([{ path: "log.txt", error: "too_large" }]);
    // The old bulk download took all 64 MiB into memory before refusing them.
    expect(state.pulled).toBeLessThanOrEqual(limit + 2 * CHUNK);
    expect(state.destroyed).toBe(true);
  });

  it("returns a file that grew but stays within the limit, whole", async () => {
    const { sandbox } = growingFile(3 * CHUNK + 5);
    const [read] = await readSandboxFiles(sandbox, layout, ["log.txt"], ["log.txt"], 1024 * 1024);
    expect(read).toEqual({ path: "log.txt", content: Buffer.alloc(3 * CHUNK + 5, 0x61) });
  });
});
