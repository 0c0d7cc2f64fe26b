import { api } from "encore.dev/api";
interface User { id: string }
type Either = { a: string } | { b: string };
export const list = api({ method: "GET", path: "/svc/users" }, async (): Promise<User[]> => []); // violation
export const pick = api({ method: "POST", path: "/svc/pick" }, async (req: Either): Promise<User> => ({ id: "a" in req ? req.a : req.b })); // violation
export const count = api({ method: "GET", path: "/svc/count" }, async (): Promise<number> => 1); // violation
export const map = api({ method: "GET", path: "/svc/map" }, async (): Promise<Record<string, User>> => ({})); // violation
export const fine = api({ method: "GET", path: "/svc/fine" }, async (): Promise<{ users: User[] }> => ({ users: [] }));
