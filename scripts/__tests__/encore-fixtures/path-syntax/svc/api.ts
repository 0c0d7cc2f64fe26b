import { api } from "encore.dev/api";
export const a = api({ method: "GET", path: "/svc/a/" }, async (): Promise<void> => {}); // violation
export const b = api({ method: "GET", path: "/svc//b" }, async (): Promise<void> => {}); // violation
export const c = api({ method: "GET", path: "/svc/*rest/c" }, async (req: { rest: string }): Promise<void> => { void req; }); // violation
export const d = api({ method: "GET", path: "svc/d" }, async (): Promise<void> => {}); // violation
export const e = api({ method: "GET", path: "/svc/e?x=1" }, async (): Promise<void> => {}); // violation
