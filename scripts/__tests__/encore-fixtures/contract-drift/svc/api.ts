import { api } from "encore.dev/api";
export const get = api({ expose: true, method: "GET", path: "/svc/:id" }, async (req: { id: string }): Promise<void> => { void req; }); // violation
export const extra = api({ expose: true, method: "POST", path: "/svc/extra" }, async (): Promise<void> => {}); // violation
