import { api } from "encore.dev/api";
export const a = api({ method: "GET", path: "/svc/:id" }, async (req: { name: string }): Promise<void> => { void req; }); // violation
export const b = api({ method: "GET", path: "/svc/:id/kind" }, async (req: { id: "x" | "y" }): Promise<void> => { void req; }); // violation
export const c = api({ method: "GET", path: "/svc/:id/none" }, async (): Promise<void> => {}); // violation
export const ok = api({ method: "GET", path: "/svc/:id/ok" }, async (req: { id: string }): Promise<void> => { void req; });
