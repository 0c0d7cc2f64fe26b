import { describe, expect, it } from "vitest";
import { memoryLogger } from "../test/support/kiln";
import { startMaintenance } from "./maintenance";

describe("maintenance", () => {
  it("runs every task each round, never overlapping, and keeps going after a failure", async () => {
    const { log, lines } = memoryLogger();
    const ran: string[] = [];
    let active = 0;
    let overlapped = false;
    const task = (name: string, fail = false) => ({
      name,
      run: async () => {
        active++;
        overlapped ||= active > 1;
        await new Promise((resolve) => setTimeout(resolve, 15));
        active--;
        ran.push(name);
        if (fail) throw new Error(`${name} broke`);
      },
    });
    const maintenance = startMaintenance([task("reconcile", true), task("sweep")], 10, log);
    await new Promise((resolve) => setTimeout(resolve, 120));
    await maintenance.stop();
    expect(ran.filter((n) => n === "sweep").length).toBeGreaterThanOrEqual(2);
    expect(overlapped).toBe(false);
    expect(lines.some((l) => l.msg === "maintenance task failed" && l.task === "reconcile")).toBe(true);
  });

  it("does nothing when turned off", async () => {
    let ran = false;
    const maintenance = startMaintenance([{ name: "x", run: async () => (ran = true) }], 0, memoryLogger().log);
    await new Promise((resolve) => setTimeout(resolve, 30));
    await maintenance.stop();
    expect(ran).toBe(false);
  });
});
