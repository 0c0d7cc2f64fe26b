import { api } from "encore.dev/api";
import { call } from "../lib/encore";
import type { ServiceHealth } from "../lib/health";
import { vfs } from "./encore-wiring";

/** Health of the vfs service and its MongoDB connection. */
export const health = api(
  { expose: true, auth: false, method: "GET", path: "/vfs/health" },
  async (): Promise<ServiceHealth> => call(() => vfs().health()),
);
