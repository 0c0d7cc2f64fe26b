import { useQuery } from "@tanstack/react-query";
import { useApi } from "../auth";
import { previewRefreshMs } from "../lib/previewLink";

/**
 * The link the preview pane opens for a project whose stored preview is `storedUrl`: a fresh one from
 * GET /projects/:id/preview, asked for again before it expires (on Daytona the stored link is a signed
 * one that dies after its TTL); the stored one until that answers, or when it cannot (the sandbox is
 * stopped). A renewed link reloads the preview, once per renewal.
 */
export function usePreviewLink(projectId: string, storedUrl: string | null): string | null {
  const api = useApi();
  const fresh = useQuery({
    queryKey: ["preview", projectId, storedUrl],
    queryFn: () => api.projects.preview({ id: projectId }),
    enabled: storedUrl !== null,
    retry: false,
    refetchInterval: (query) => (query.state.data ? previewRefreshMs(query.state.data.expiresAt, Date.now()) : false),
  });
  return storedUrl === null ? null : (fresh.data?.url ?? storedUrl);
}
