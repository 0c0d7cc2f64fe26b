import { api } from "encore.dev/api";
import { call } from "../lib/encore";
import type { ServiceHealth } from "../lib/health";
import { ai } from "./encore-wiring";

/** Health of the ai service, its database and the services a generation depends on. */
export const health = api(
  { expose: true, auth: false, method: "GET", path: "/generations/health" },
  async (): Promise<ServiceHealth> => call(() => ai().health()),
);
