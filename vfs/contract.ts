import type { ServiceHealth } from "../lib/health";
import type { Routes } from "../lib/routes";

/** The vfs service: the durable copy of every project file, in MongoDB GridFS. */
export interface VfsApi {
  /** The service's health: its MongoDB connection. */
  health(): Promise<ServiceHealth>;
}

/** Where each VfsApi method is served (mirrored by vfs/api.ts). */
export const vfsRoutes = {
  health: { method: "GET", path: "/vfs/health", expose: true, auth: false, fields: {} },
} as const satisfies Routes<VfsApi>;
