import { useMutation, useQuery } from "@tanstack/react-query";
import { useState } from "react";
import { useApi } from "../auth";
import { projectZip, saveBlob, zipName } from "../lib/zip";
import { ErrorNotice } from "./ErrorNotice";

/** "Download ZIP" in the project's top bar: the current files zipped in the browser; disabled, saying why, while there are none. */
export function DownloadZip({ projectId, name }: { projectId: string; name: string }) {
  const api = useApi();
  const [progress, setProgress] = useState<string | null>(null);
  // The same query as the code view's tree: one request for both.
  const files = useQuery({ queryKey: ["files", projectId], queryFn: () => api.vfs.listFiles({ projectId, recursive: true }) });
  const empty = files.data !== undefined && files.data.files.length === 0;
  const download = useMutation({
    mutationFn: async () => {
      const folder = zipName(name);
      const blob = await projectZip(api, projectId, folder, (done, total) => setProgress(`${done}/${total}`));
      saveBlob(blob, `${folder}.zip`);
    },
    onSettled: () => setProgress(null),
  });
  const reason = empty ? "Nothing to download yet: the project has no files. They appear as the agent writes them." : "Download the project's current files as a ZIP";
  return (
    <div className="download">
      <button className="btn btn-small" onClick={() => download.mutate()} disabled={download.isPending || empty} data-testid="download-zip" title={reason} aria-describedby={empty ? "download-zip-why" : undefined}>
        {download.isPending ? `Zipping… ${progress ?? ""}` : <><span className="download-long">Download </span>ZIP</>}
      </button>
      {empty && (
        <span id="download-zip-why" className="visually-hidden">
          {reason}
        </span>
      )}
      {download.error ? (
        <div className="popover">
          <ErrorNotice error={download.error} context="Downloading the ZIP" compact onRetry={() => download.mutate()} />
        </div>
      ) : null}
    </div>
  );
}
