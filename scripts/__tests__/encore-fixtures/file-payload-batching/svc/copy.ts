import { inBatches } from "../lib/batches";
import type { FilesApi } from "./contract";

/** A local store whose writeFiles is no service call. */
const store = { writeFiles: async (_files: string[]) => undefined };

/** Copies files between two workspaces: two unbatched calls, two batched ones, and calls that carry no files. */
export async function copy(files: Pick<FilesApi, "writeFiles" | "readFiles" | "listFiles">, from: string, to: string): Promise<void> {
  const { files: paths } = await files.listFiles({ id: from });
  const read = await files.readFiles({ id: from, paths }); // violation
  await files.writeFiles({ id: to, files: read.files }); // violation
  await inBatches(paths, (batch) => files.readFiles({ id: from, paths: batch }));
  await inBatches(read.files, async (batch) => {
    await files.writeFiles({ id: to, files: batch });
  });
  await store.writeFiles(read.files);
}
