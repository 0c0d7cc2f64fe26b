import { api } from "encore.dev/api";
interface Req { id: string }
interface Resp { ok: boolean }
async function handler(req: Req): Promise<Resp> { return { ok: req.id !== "" }; }
export const byRef = api({ method: "POST", path: "/svc/by-ref" }, handler); // violation
export const noReturn = api({ method: "POST", path: "/svc/no-return" }, async (req: Req) => ({ ok: req.id !== "" })); // violation
export const untyped = api({ method: "POST", path: "/svc/untyped" }, async (req): Promise<Resp> => ({ ok: !!req })); // violation
export const generic = api({ method: "POST", path: "/svc/generic" }, async <T,>(req: Req): Promise<Resp> => ({ ok: !!req })); // violation
export const withArgs = api<Req, Resp>({ method: "POST", path: "/svc/with-args" }, handler);
