import { useQuery } from "@tanstack/react-query";
import { useEffect, useMemo } from "react";
import { useApi } from "../auth";

/**
 * The screenshot of a project's app at its last passing check, or a placeholder until it has one (so
 * every card of a list has the same shape). `version`
 * (the thumbnail's hash, or the project's update time) makes a new one load; the browser revalidates
 * with the ETag, so an unchanged thumbnail is not downloaded again.
 */
export function ProjectThumbnail({ projectId, version, className, alt }: { projectId: string; version: string | null; className?: string; alt: string }) {
  const api = useApi();
  const thumbnail = useQuery({ queryKey: ["thumbnail", projectId, version], queryFn: ({ signal }) => api.thumbnail(projectId, { signal }), staleTime: 60_000, retry: false, enabled: version !== null });
  const url = useMemo(() => (thumbnail.data ? URL.createObjectURL(thumbnail.data) : null), [thumbnail.data]);
  useEffect(() => () => (url ? URL.revokeObjectURL(url) : undefined), [url]);
  if (!url) return <div className={`${className ?? ""} thumb-empty`} aria-hidden data-testid="thumbnail-placeholder" />;
  return <img className={className} src={url} alt={alt} width={1280} height={800} loading="lazy" data-testid="project-thumbnail" />;
}
