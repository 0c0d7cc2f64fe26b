import { hasCode } from "../../lib/errors";
import type { WorkspaceApi } from "../../workspace/contract";
import type { BackgroundProcess } from "./store";

const reasonOf = (err: unknown) => (err instanceof Error ? err.message : String(err));

/**
 * Starts again, in a resumed job's workspace, the background processes its agent had started that no
 * longer run (the restart took them, or the sandbox was re-created), recording each new id. One the
 * workspace cannot tell about (any error but "not found") is left alone. Returns what changed, in words
 * for the model (its process ids changed, their output so far is gone), or null when nothing did.
 */
export async function restartProcesses(
  workspace: Pick<WorkspaceApi, "processLogs" | "startProcess">,
  workspaceId: string,
  recorded: BackgroundProcess[],
  record: (process: BackgroundProcess) => Promise<void>,
): Promise<string | null> {
  const said: string[] = [];
  for (const process of recorded) {
    const what = `${JSON.stringify(process.command)} (process ${process.processId})`;
    let exited = "it was gone after the restart";
    try {
      const logs = await workspace.processLogs({ id: workspaceId, processId: process.processId });
      if (logs.running) continue;
      exited = `it had exited with code ${logs.exitCode}`;
    } catch (err) {
      if (!hasCode(err, "not_found")) {
        said.push(`- ${what}: could not be checked (${reasonOf(err)}); it may not be running`);
        continue;
      }
    }
    try {
      const { processId } = await workspace.startProcess({ id: workspaceId, name: process.name, command: process.command, ...(process.cwd ? { cwd: process.cwd } : {}) });
      await record({ ...process, processId });
      said.push(`- ${what}: ${exited}; started again as process ${processId}`);
    } catch (err) {
      if (hasCode(err, "already_exists")) continue;
      said.push(`- ${what}: ${exited} and could not be started again (${reasonOf(err)}); it is not running`);
    }
  }
  if (said.length === 0) return null;
  return `The server running this generation restarted. Background processes you had started:\n${said.join("\n")}\nTheir earlier output is gone.`;
}
