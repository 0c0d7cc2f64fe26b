import { authHandler } from "encore.dev/auth";
import { Header } from "encore.dev/api";
interface Params { authorization: Header<"Authorization"> }
interface Data { userID: string }
export const secondAuth = authHandler<Params, Data>(async () => ({ userID: "u" })); // violation
