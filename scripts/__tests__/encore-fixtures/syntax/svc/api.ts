import { api } from "encore.dev/api";
export const get = api({ method: "GET", path: "/svc" }, async (): Promise<void> => { ); // violation
