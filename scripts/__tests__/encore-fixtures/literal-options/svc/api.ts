import { api } from "encore.dev/api";
const base = { expose: true };
const PATH = "/svc/c";
export const a = api({ ...base, method: "GET", path: "/svc/a" }, async (): Promise<void> => {}); // violation
export const b = api({ method: "GET", path: `/svc/b` }, async (): Promise<void> => {}); // violation
export const c = api({ method: "GET", path: PATH }, async (): Promise<void> => {}); // violation
export const d = api({ method: "GET" as const, path: "/svc/d" }, async (): Promise<void> => {}); // violation
export const e = api({ method: "GET", path: "/svc/e", timeout: 5 }, async (): Promise<void> => {}); // violation
export const f = api({ method: "get", path: "/svc/f" }, async (): Promise<void> => {}); // violation
export const g = api({ method: "GET", path: "/svc/g", expose: 1 }, async (): Promise<void> => {}); // violation
const opts = { method: "GET", path: "/svc/h" } as const;
export const h = api(opts, async (): Promise<void> => {}); // violation
