import { api } from "encore.dev/api";
interface Filter { name: string }
interface Search { filter: Filter; limit?: number; tags?: string[] }
interface Found { count: number }
export const search = api({ method: "GET", path: "/svc/search" }, async (req: Search): Promise<Found> => ({ count: req.limit ?? 0 })); // violation
export const remove = api({ method: "DELETE", path: "/svc/items" }, async (req: { ids: Record<string, boolean> }): Promise<void> => { void req; }); // violation
export const post = api({ method: "POST", path: "/svc/search" }, async (req: Search): Promise<Found> => ({ count: req.limit ?? 0 }));
