import * as encore from "encore.dev/api"; // violation
export const ping = encore.api({ method: "GET", path: "/svc/ping" }, async (): Promise<void> => {});
