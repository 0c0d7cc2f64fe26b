import { Header } from "encore.dev/api";
import { authHandler } from "encore.dev/auth";

interface AuthParams {
  authorization: Header<"Authorization">;
}

export interface Caller {
  userID: string;
  plan: "free" | "pro";
}

/** The sample's one auth handler: its resolved type is what `authData` must be. */
export const auth = authHandler<AuthParams, Caller>(async (params) =>
  params.authorization ? { userID: "u1", plan: "free" } : null,
);
