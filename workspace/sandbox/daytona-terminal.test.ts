import { describe, expect, it, vi } from "vitest";
import type { SandboxAccess } from "./daytona-access";
import { daemonHasPty, openDaytonaTerminal } from "./daytona-terminal";

describe("Daytona terminals and the daemon's version", () => {
  it("takes daemons from 0.191.0 on and refuses older or unknown ones", () => {
    for (const version of ["0.191.0", "v0.218.0", "0.218.0-rc1", "1.0.0"]) expect(daemonHasPty(version), version).toBe(true);
    for (const version of ["0.190.0", "v0.99.9", "0.190.12", "", undefined, "latest"]) expect(daemonHasPty(version), String(version)).toBe(false);
  });

  it("refuses a terminal on an old daemon with the version in the message, before any PTY is asked for", async () => {
    const createPty = vi.fn();
    const access = {
      toolbox: (_id: string, _what: string, call: (sandbox: unknown, layout: unknown) => Promise<unknown>) => call({ daemonVersion: "0.190.0", process: { createPty } }, { project: "/home/daytona/project" }),
    } as unknown as SandboxAccess;
    const request = { rows: 24, cols: 80, onOutput: () => {}, onExit: () => {} };
    await expect(openDaytonaTerminal(access, "sbx", request)).rejects.toMatchObject({ code: "failed_precondition", message: expect.stringContaining("0.190.0") });
    await expect(openDaytonaTerminal(access, "sbx", { ...request, rows: 0 })).rejects.toMatchObject({ code: "invalid_argument", message: expect.stringContaining("rows") });
    expect(createPty).not.toHaveBeenCalled();
  });
});
