import { api } from "encore.dev/api";
import { call } from "../lib/encore";
import type { ServiceHealth } from "../lib/health";
import { workspace } from "./encore-wiring";

/** Health of the workspace service and its database. */
export const health = api(
  { expose: true, auth: false, method: "GET", path: "/workspaces/health" },
  async (): Promise<ServiceHealth> => call(() => workspace().health()),
);
