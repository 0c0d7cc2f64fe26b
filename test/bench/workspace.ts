/**
 * Workspace API on the local provider: a 200-file / 2 MB project written and read back in one batch
 * call each, side by side with one call per file, and one exec round trip.
 */
import type { WorkspaceApi } from "../../workspace/contract";
import { fmt, median, projectFiles, type BenchRow } from "./measure";

export async function benchWorkspace(workspace: WorkspaceApi, workspaceId: string): Promise<BenchRow[]> {
  const files = projectFiles(200, 10_000).map((f) => ({ path: f.path, contentBase64: f.content.toString("base64") }));
  const paths = files.map((f) => f.path);
  const batchWrite = await median(5, () => workspace.writeFiles({ id: workspaceId, files }));
  const batchRead = await median(5, () => workspace.readFiles({ id: workspaceId, paths }));
  const perFileWrite = await median(3, async () => {
    for (const file of files) await workspace.writeFiles({ id: workspaceId, files: [file] });
  });
  const perFileRead = await median(3, async () => {
    for (const path of paths) await workspace.readFiles({ id: workspaceId, paths: [path] });
  });
  const exec = await median(10, () => workspace.exec({ id: workspaceId, command: "true" }));
  return [
    { benchmark: "workspace (local)", measure: "write 200 files / 2 MB, one batch call", value: fmt(batchWrite), note: `${(perFileWrite / batchWrite).toFixed(1)}× faster than 200 single-file calls (${fmt(perFileWrite)})` },
    { benchmark: "workspace (local)", measure: "read them back, one batch call", value: fmt(batchRead), note: `${(perFileRead / batchRead).toFixed(1)}× faster than 200 single-file calls (${fmt(perFileRead)})` },
    { benchmark: "workspace (local)", measure: "exec round trip (`true`)", value: fmt(exec), note: "through the toolbox, a pid namespace of its own per command" },
  ];
}
