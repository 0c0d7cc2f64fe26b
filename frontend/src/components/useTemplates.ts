import { useQuery } from "@tanstack/react-query";
import type { TemplateList, TemplateSummary } from "../../../projects/contract";
import { useApi } from "../auth";

/** The templates a project can start from (GET /templates): they change only with a deploy, so read once. */
export function useTemplates() {
  const api = useApi();
  return useQuery<TemplateList>({ queryKey: ["templates"], queryFn: () => api.projects.templates({}), staleTime: Infinity, gcTime: Infinity });
}

/** The template called `name`, once the list is loaded. */
export function useTemplate(name: string | undefined): TemplateSummary | undefined {
  const templates = useTemplates();
  return name === undefined ? undefined : templates.data?.templates.find((t) => t.name === name);
}
