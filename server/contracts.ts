import { aiRoutes } from "../ai/contract";
import type { Route } from "../lib/routes";
import { projectsRoutes } from "../projects/contract";
import { vfsRoutes } from "../vfs/contract";
import { workspaceRoutes } from "../workspace/contract";

/** Every service's route table, by Encore service name: what the server mounts and clients call. */
export const CONTRACT_ROUTES = {
  projects: projectsRoutes,
  workspace: workspaceRoutes,
  vfs: vfsRoutes,
  ai: aiRoutes,
} satisfies Record<string, Record<string, Route>>;
