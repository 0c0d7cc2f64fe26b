import type { AgentBackup, AgentSandbox } from "../agent/ports";
import type { BackgroundProcess } from "./store";
import type { CheckerDeps } from "../checks/checker";
import { detectStack } from "../agent/stack";
import type { AuthData } from "../../lib/routes";
import type { VfsApi } from "../../vfs/contract";
import type { WorkspaceApi } from "../../workspace/contract";
import { inBatches, readAlone } from "../../lib/batches";
import { newId } from "../../lib/ids";
import { safeRelativePath, shellQuote } from "../../lib/paths";

const SEARCH_LIMIT = 200;
const FIRST_OUTPUT_WAIT_MS = 3000;

/**
 * The agent's sandbox, on the workspace service's contract. A background process is `started` (recorded
 * for a runner that takes the job over) before the tool answers; `earlier` processes keep their names.
 */
export function sandboxOf(workspace: WorkspaceApi, workspaceId: string, processes?: { earlier: number; started(process: BackgroundProcess): Promise<void> }): AgentSandbox {
  let background = processes?.earlier ?? 0;
  return {
    async writeFile(path, content) {
      const files = [{ path, contentBase64: Buffer.from(content).toString("base64") }];
      await inBatches(files, (batch) => workspace.writeFiles({ id: workspaceId, files: batch }));
    },
    async readFile(path) {
      const file = await readAlone(path, async (paths) => (await workspace.readFiles({ id: workspaceId, paths })).files);
      if (!file || file.contentBase64 === undefined) throw new Error(`${path}: ${file?.error?.replace(/_/g, " ") ?? "not found"} in the sandbox`);
      return Buffer.from(file.contentBase64, "base64").toString("utf8");
    },
    async listFiles(path, recursive) {
      return (await workspace.listFiles({ id: workspaceId, path, recursive })).files;
    },
    async searchFiles(pattern, path) {
      // The path becomes a word of a command, where no provider's path check sees it: it is checked here.
      const directory = safeRelativePath("path", path, { allowRoot: true }) || ".";
      const command = `grep -rnIE --exclude-dir=node_modules --exclude-dir=.git --exclude-dir=dist -e ${shellQuote(pattern)} -- ${shellQuote(directory)} | head -n ${SEARCH_LIMIT}`;
      const result = await workspace.exec({ id: workspaceId, command, timeoutMs: 30_000 });
      return result.stdout
        .split("\n")
        .map((line) => /^(?:\.\/)?([^:]+):(\d+):(.*)$/.exec(line))
        .filter((m): m is RegExpExecArray => m !== null)
        .map((m) => ({ path: m[1]!, line: Number(m[2]), text: m[3]! }));
    },
    async exec(command, options) {
      if (options.signal.aborted) throw new Error("cancelled before it started");
      const execId = newId("exe");
      const cancel = () => void workspace.cancelExec({ id: workspaceId, execId }).catch(() => undefined);
      options.signal.addEventListener("abort", cancel, { once: true });
      try {
        const result = await workspace.exec({ id: workspaceId, command, cwd: options.cwd, timeoutMs: options.timeoutMs, execId });
        return { exitCode: result.exitCode, output: result.output, timedOut: result.timedOut };
      } finally {
        options.signal.removeEventListener("abort", cancel);
      }
    },
    async startBackground(command, options) {
      background += 1;
      const name = `background-${background}`;
      const { processId } = await workspace.startProcess({ id: workspaceId, name, command, cwd: options.cwd });
      await processes?.started({ name, command, cwd: options.cwd ?? null, processId });
      const deadline = Date.now() + FIRST_OUTPUT_WAIT_MS;
      let logs = await workspace.processLogs({ id: workspaceId, processId });
      while (!logs.output && logs.running && Date.now() < deadline) {
        await new Promise((resolve) => setTimeout(resolve, 100));
        logs = await workspace.processLogs({ id: workspaceId, processId });
      }
      const exited = logs.running ? "" : `\n(it exited with code ${logs.exitCode})`;
      return { processId, firstOutput: `${logs.output}${exited}` };
    },
  };
}

/** What a job needs of the vfs beyond its contract's file endpoints: whole-workspace backup, the thumbnail. */
export type JobVfs = Pick<VfsApi, "writeFiles" | "readFile" | "backupWorkspace" | "restoreWorkspace" | "saveThumbnail">;

/** The agent's backup, on the vfs service's contract, acting for the job's owner. */
export function backupOf(vfs: JobVfs, projectId: string, jobId: string, auth: AuthData): AgentBackup {
  return {
    async save(path, content) {
      const files = [{ path, contentBase64: Buffer.from(content).toString("base64") }];
      await inBatches(files, (batch) => vfs.writeFiles({ projectId, jobId, files: batch }, auth));
    },
    async readLatest(path) {
      try {
        const file = await vfs.readFile({ projectId, path }, auth);
        return Buffer.from(file.contentBase64, "base64").toString("utf8");
      } catch (err) {
        if ((err as { code?: string }).code === "not_found") return null;
        throw err;
      }
    },
  };
}

/**
 * The dev server for a check: detect how the app runs, back everything up, bring the preview up. The
 * preview's token, where the provider has one, goes only into the headers of the server's own browser.
 */
export function devServerOf(workspace: WorkspaceApi, vfs: JobVfs, ids: { projectId: string; workspaceId: string; jobId: string }, auth: AuthData): CheckerDeps["devServer"] {
  return async (request) => {
    const listing = await workspace.listFiles({ id: ids.workspaceId, path: "", recursive: false });
    const names = listing.files.map((f) => f.path);
    const pkg = names.includes("package.json") ? await readAlone("package.json", async (paths) => (await workspace.readFiles({ id: ids.workspaceId, paths })).files) : undefined;
    const stack = detectStack(names, pkg?.contentBase64 === undefined ? null : Buffer.from(pkg.contentBase64, "base64").toString("utf8"));
    await vfs.backupWorkspace({ projectId: ids.projectId, workspaceId: ids.workspaceId, jobId: ids.jobId, label: "completion" }, auth);
    const command = request.devCommand ?? stack.devCommand;
    if (!command) {
      return { problem: `no way to start the app was found (framework: ${stack.framework}); add a "dev" script to package.json or pass dev_command`, logTail: "" };
    }
    const server = await workspace.ensureDevServer({ id: ids.workspaceId, command });
    if (!server.ok || !server.previewUrl) return { problem: server.problem ?? "the dev server did not answer", logTail: server.logTail };
    const headers: Record<string, string> = { "X-Daytona-Skip-Preview-Warning": "true" };
    if (server.previewToken) headers["x-daytona-preview-token"] = server.previewToken;
    return { url: server.previewUrl, headers };
  };
}
