import { api } from "encore.dev/api";
export const get = api({ method: "GET", path: "/svc/:id" }, async (req: { id: string }): Promise<void> => { void req; });
export const again = api({ method: "GET", path: "/svc/:key" }, async (req: { key: string }): Promise<void> => { void req; }); // violation
export const posts = api({ method: "GET", path: "/svc/:name/posts" }, async (req: { name: string }): Promise<void> => { void req; }); // violation
export const me = api({ method: "GET", path: "/svc/me" }, async (): Promise<void> => {});
