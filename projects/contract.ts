import type { ServiceHealth } from "../lib/health";
import type { Routes } from "../lib/routes";

/** The projects service: projects, their owners and API tokens, and each project's conversation. */
export interface ProjectsApi {
  /** The service's health: its Postgres database. */
  health(): Promise<ServiceHealth>;
}

/** Where each ProjectsApi method is served (mirrored by projects/api.ts). */
export const projectsRoutes = {
  health: { method: "GET", path: "/projects/health", expose: true, auth: false, fields: {} },
} as const satisfies Routes<ProjectsApi>;
