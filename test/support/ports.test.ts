import { spawnSync } from "node:child_process";
import { mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createServer, type Server } from "node:net";
import { dirname } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { lockFileOf, reservePorts } from "./ports";

/** Two blocks of 40 below the region other tests use, so this file's locks meet no one else's. */
const REGION: [number, number] = [9000, 9079];

describe("test port blocks", () => {
  let busy: Server | undefined;
  afterAll(async () => {
    await new Promise((resolve) => (busy ? busy.close(resolve) : resolve(undefined)));
    for (const first of [9000, 9040]) rmSync(lockFileOf(first), { force: true });
  });

  it("hand out blocks below the ephemeral range, each once across calls", async () => {
    const blocks = await Promise.all([reservePorts(20), reservePorts(20), reservePorts(3)]);
    const ephemeralLow = Number(readFileSync("/proc/sys/net/ipv4/ip_local_port_range", "utf8").trim().split(/\s+/)[0]);
    const ports = blocks.flatMap(([first, last]) => Array.from({ length: last - first + 1 }, (_, k) => first + k));
    expect(new Set(ports).size).toBe(43);
    expect(Math.max(...ports)).toBeLessThan(ephemeralLow);
  });

  it("take over the block of a holder that is gone, and skip blocks held by a live process or in use", async () => {
    const gone = spawnSync(process.execPath, ["-e", ""]).pid!;
    mkdirSync(dirname(lockFileOf(9000)), { recursive: true });
    writeFileSync(lockFileOf(9000), String(gone));
    busy = createServer();
    await new Promise<void>((resolve) => busy!.listen(9050, "0.0.0.0", resolve));
    expect(await reservePorts(40, REGION)).toEqual([9000, 9039]);
    expect(readFileSync(lockFileOf(9000), "utf8")).toBe(String(process.pid));
    await expect(reservePorts(40, REGION)).rejects.toThrow(/no block of 40 free ports between 9000 and 9079/);
  });

  it("never hands out a port fetch refuses (\"bad port\": 6000, 10080, ...)", async () => {
    // Of the region's two blocks the first holds 6000: only the second can be given, whichever is tried first.
    const block = await reservePorts(40, [5980, 6059]);
    rmSync(lockFileOf(block[0]), { force: true });
    expect(block).toEqual([6020, 6059]);
  });

  it("refuses a count it cannot hold in one block", async () => {
    await expect(reservePorts(41)).rejects.toThrow("41 ports asked, 1 to 40 can be");
    await expect(reservePorts(0)).rejects.toThrow("0 ports asked");
  });
});
