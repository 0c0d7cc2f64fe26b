/**
 * Git import and push on the Daytona provider (through the fake, which runs Daytona's toolbox protocol on
 * local sandboxes): the same round trip as on the local provider, and the token in no command Daytona
 * was sent (a long command's environment is part of its text there) nor in any response or log line.
 */
import { randomBytes } from "node:crypto";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startGitServer, type TestGitServer } from "./support/git-server";
import { client, type TestClient } from "./support/http";
import { startDaytonaGenerationStack, type GenerationStack } from "./support/stack";
import type { FakeDaytona } from "./fakes/daytona/server";

const TOKEN = `kiln-daytona-token-${randomBytes(12).toString("hex")}`;
let stack: GenerationStack & { daytona: FakeDaytona };
let git: TestGitServer;
let api: TestClient;
const seen: string[] = [];

beforeAll(async () => {
  stack = await startDaytonaGenerationStack();
  git = await startGitServer(TOKEN);
  api = client(stack.kiln.url, stack.token, seen);
}, 120_000);
afterAll(async () => {
  await git?.close();
  await stack?.close();
});

describe("git on Daytona", () => {
  it("imports a repository and pushes its version back, the token reaching only the git server", async () => {
    const source = git.createRepository("app", (dir) => {
      writeFileSync(join(dir, "index.html"), "<h1>Daytona</h1>\n");
      writeFileSync(join(dir, "logo.bin"), Buffer.from([0, 255, 1, 254]));
    });
    const imported = await api.call("POST", "/vfs/git/import", { url: source });
    expect(imported.status, imported.text).toBe(200);
    expect(imported.body.version).toMatchObject({ kind: "import", fileCount: 2 });

    const remote = git.emptyRepository("published");
    const pushed = await api.call("POST", `/vfs/${imported.body.project.id}/versions/${imported.body.version.id}/push`, { url: remote, token: TOKEN, branch: "kiln" });
    expect(pushed.status, pushed.text).toBe(200);
    expect(git.git("published", "rev-parse", "refs/heads/kiln").trim()).toBe(pushed.body.commit);
    expect(git.git("published", "rev-parse", "kiln:logo.bin").trim()).toBe(git.git("app", "rev-parse", "main:logo.bin").trim());
    expect(git.git("published", "show", "kiln:index.html")).toBe("<h1>Daytona</h1>\n");

    expect(git.authorizations.some((h) => Buffer.from(h.split(" ")[1] ?? "", "base64").toString().endsWith(`:${TOKEN}`))).toBe(true);
    const commands = stack.daytona.requests.filter((r) => /process|session/.test(r.path)).map((r) => JSON.stringify(r));
    expect(commands.length).toBeGreaterThan(0);
    for (const command of commands) expect(command).not.toContain(TOKEN);
    for (const text of seen) expect(text).not.toContain(TOKEN);
    expect(stack.kiln.logText()).not.toContain(TOKEN);
  }, 180_000);
});
