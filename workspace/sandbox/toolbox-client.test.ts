import { describe, expect, it } from "vitest";
import { Toolbox } from "./toolbox-client";

const FRAMES = new URL("./toolbox/frames.mjs", import.meta.url).pathname;

/** A toolbox stand-in: a node script that may misbehave, with the frame encoder at hand as `encodeFrame`. */
function fakeToolbox(script: string) {
  const program = `import(${JSON.stringify(FRAMES)}).then(({ encodeFrame }) => { ${script} });`;
  return Toolbox.start({ file: process.execPath, args: ["-e", program], cwd: "/", env: { PATH: "/usr/bin:/bin" }, fds: [] }, { graceMs: 200, onStderr: () => {} });
}

describe("the toolbox client treats its toolbox as untrusted", () => {
  it("fails the start of a toolbox that writes garbage instead of frames, and kills it", async () => {
    await expect(fakeToolbox(`process.stdout.write(Buffer.from([255, 255, 255, 255, 1, 2, 3, 4])); setInterval(() => {}, 1000);`)).rejects.toMatchObject({ code: "unavailable", message: expect.stringContaining("protocol error") });
  });

  it("fails every call once the toolbox answers a request nobody made, and every later one", async () => {
    const toolbox = await fakeToolbox(`
      process.stdout.write(encodeFrame({ event: "ready" }));
      process.stdin.once("data", () => process.stdout.write(encodeFrame({ id: 999, ok: true })));
      setInterval(() => {}, 1000);`);
    await expect(toolbox.call("ping", {})).rejects.toMatchObject({ code: "unavailable", message: expect.stringContaining("a reply to no request") });
    await expect(toolbox.call("ping", {})).rejects.toMatchObject({ code: "unavailable" });
    await toolbox.exited;
    expect(toolbox.alive).toBe(false);
  });

  it("reports a failed operation with its errno code and item, never the toolbox's own words", async () => {
    const toolbox = await fakeToolbox(`
      process.stdout.write(encodeFrame({ event: "ready" }));
      process.stdin.on("data", (chunk) => {
        const id = JSON.parse(chunk.subarray(8, 8 + chunk.readUInt32BE(0)).toString()).id;
        process.stdout.write(encodeFrame({ id, ok: false, error: { code: "ENOENT", index: 2, message: "sk-ant-secret" } }));
      });`);
    const failure = await toolbox.call("read", { paths: ["a", "b", "c"] }).catch((err: unknown) => err);
    expect(failure).toMatchObject({ code: "ENOENT", index: 2 });
    expect(String((failure as Error).message)).not.toContain("sk-ant-secret");
    await toolbox.kill();
  });
});
