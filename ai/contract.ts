import type { ServiceHealth } from "../lib/health";
import type { Routes } from "../lib/routes";

/** The ai service: generation jobs and the agent tool loop that runs them. */
export interface AiApi {
  /** The service's health: its Postgres database and the services a generation needs. */
  health(): Promise<ServiceHealth>;
}

/** Where each AiApi method is served (mirrored by ai/api.ts). */
export const aiRoutes = {
  health: { method: "GET", path: "/generations/health", expose: true, auth: false, fields: {} },
} as const satisfies Routes<AiApi>;
