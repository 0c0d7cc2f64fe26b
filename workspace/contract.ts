import type { ServiceHealth } from "../lib/health";
import type { Routes } from "../lib/routes";

/** The workspace service: each project's live sandbox, its files, commands and preview. */
export interface WorkspaceApi {
  /** The service's health: its Postgres database. */
  health(): Promise<ServiceHealth>;
}

/** Where each WorkspaceApi method is served (mirrored by workspace/api.ts). */
export const workspaceRoutes = {
  health: { method: "GET", path: "/workspaces/health", expose: true, auth: false, fields: {} },
} as const satisfies Routes<WorkspaceApi>;
