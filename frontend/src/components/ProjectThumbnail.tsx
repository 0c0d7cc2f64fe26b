import { useQuery } from "@tanstack/react-query";
import { useEffect, useMemo } from "react";
import { useApi } from "../auth";

/**
 * The screenshot of a project's app at its last passing check, or nothing until it has one. `version`
 * (the thumbnail's hash, or the project's update time) makes a new one load; the browser revalidates
 * with the ETag, so an unchanged thumbnail is not downloaded again.
 */
export function ProjectThumbnail({ projectId, version, className, alt }: { projectId: string; version: string; className?: string; alt: string }) {
  const api = useApi();
  const thumbnail = useQuery({ queryKey: ["thumbnail", projectId, version], queryFn: ({ signal }) => api.thumbnail(projectId, { signal }), staleTime: 60_000, retry: false });
  const url = useMemo(() => (thumbnail.data ? URL.createObjectURL(thumbnail.data) : null), [thumbnail.data]);
  useEffect(() => () => (url ? URL.revokeObjectURL(url) : undefined), [url]);
  if (!url) return null;
  return <img className={className} src={url} alt={alt} width={1280} height={800} loading="lazy" data-testid="project-thumbnail" />;
}
