import { execFileSync } from "node:child_process";
import { chmodSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { devLaunch } from "./dev-launch";

const pkg = (scripts: Record<string, string>) => JSON.stringify({ name: "app", scripts });

/** What `launch` prints when run by a shell in a project whose node_modules/.bin holds a `tool` that echoes its arguments. */
function runIn(launch: string): string {
  const dir = mkdtempSync(join(tmpdir(), "kiln-dev-launch-"));
  try {
    mkdirSync(join(dir, "node_modules/.bin"), { recursive: true });
    writeFileSync(join(dir, "node_modules/.bin/tool"), '#!/bin/sh\necho "tool $* ($npm_lifecycle_event)"\n');
    chmodSync(join(dir, "node_modules/.bin/tool"), 0o755);
    return execFileSync("sh", ["-c", launch], { cwd: dir, encoding: "utf8", env: { PATH: "/usr/bin:/bin" } });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

describe("how a dev command is launched", () => {
  it("runs `npm run <script>` and `npm start` as the script itself, with the project's binaries on PATH, as npm would", () => {
    expect(runIn(devLaunch("npm run dev", pkg({ dev: "tool --port ${PORT:-5173}" })))).toBe("tool --port 5173 (dev)\n");
    expect(runIn(devLaunch("npm start", pkg({ start: "tool serve" })))).toBe("tool serve (start)\n");
  });

  it("keeps a hostile script one shell word: it runs inside the sandbox like npm would run it, never as part of Kiln's command", () => {
    const script = "tool \"$(echo a)\" 'b' ; echo done";
    const launch = devLaunch("npm run dev", pkg({ dev: script }));
    expect(launch.endsWith(`sh -c 'tool "$(echo a)" '\\''b'\\'' ; echo done'`)).toBe(true);
    expect(runIn(launch)).toBe("tool a b (dev)\ndone\n");
  });

  it("leaves to npm what npm alone does right: hooks, extra arguments, other managers, missing or unreadable scripts", () => {
    for (const [command, json] of [
      ["npm run dev", pkg({ predev: "tool prepare", dev: "tool" })],
      ["npm run dev", pkg({ dev: "tool", postdev: "tool after" })],
      ["npm run dev -- --host", pkg({ dev: "tool" })],
      ["pnpm run dev", pkg({ dev: "tool" })],
      ["npm run build", pkg({ dev: "tool" })],
      ["npm start", pkg({ dev: "tool" })],
      ["npm run dev", pkg({ dev: "" })],
      ["npm run dev", "{ not json"],
      ["npm run dev", JSON.stringify({ scripts: ["dev"] })],
      ["npm run dev", null],
      ["node server.js", pkg({ dev: "tool" })],
    ] as const) {
      expect(devLaunch(command, json), `${command} with ${json}`).toBe(command);
    }
  });
});
