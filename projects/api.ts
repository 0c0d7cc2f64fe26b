import { api } from "encore.dev/api";
import { call } from "../lib/encore";
import type { ServiceHealth } from "../lib/health";
import { projects } from "./encore-wiring";

/** Health of the projects service and its database. */
export const health = api(
  { expose: true, auth: false, method: "GET", path: "/projects/health" },
  async (): Promise<ServiceHealth> => call(() => projects().health()),
);
