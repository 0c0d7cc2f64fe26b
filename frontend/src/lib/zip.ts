import { zipSync, type Zippable } from "fflate";
import type { KilnClient } from "../api/client";
import { decodeBase64 } from "./files";

/** Reads every current file of a project from the vfs and zips them in the browser (modes kept). */
export async function projectZip(api: KilnClient, projectId: string, folder: string, onProgress?: (done: number, total: number) => void): Promise<Blob> {
  const { files } = await api.vfs.listFiles({ projectId, recursive: true });
  const tree: Zippable = {};
  let done = 0;
  const queue = [...files];
  const worker = async () => {
    for (let file = queue.shift(); file; file = queue.shift()) {
      const content = await api.vfs.readFile({ projectId, path: file.path });
      // Unix permission bits in the entry's external attributes, as `zip` on Unix writes them.
      tree[`${folder}/${file.path}`] = [decodeBase64(content.contentBase64), { os: 3, attrs: ((0o100000 | (file.mode & 0o7777)) << 16) >>> 0, level: 6 }];
      onProgress?.(++done, files.length);
    }
  };
  await Promise.all(Array.from({ length: Math.min(6, files.length) }, worker));
  const bytes = zipSync(tree);
  return new Blob([bytes as BlobPart], { type: "application/zip" });
}

/** A file name for the download: the project's name in lowercase words. */
export function zipName(projectName: string): string {
  return projectName.toLowerCase().replace(/[^a-z0-9]+/g, "-").replace(/^-+|-+$/g, "") || "project";
}

export function saveBlob(blob: Blob, fileName: string): void {
  const url = URL.createObjectURL(blob);
  const a = document.createElement("a");
  a.href = url;
  a.download = fileName;
  document.body.appendChild(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
}
