import { Gateway, type Header } from "encore.dev/api";
import { authHandler } from "encore.dev/auth";
import { call } from "../lib/encore";
import type { AuthData } from "../lib/routes";
import { verify } from "./encore-wiring";

/** What the auth handler reads from each request. */
interface AuthParams {
  authorization: Header<"Authorization">;
}

/** Verifies `Authorization: Bearer <token>` for every `auth: true` endpoint of the app. */
export const auth = authHandler<AuthParams, AuthData>(async (params) => call(() => verify(params.authorization)));

/** The app's gateway, authenticating with Kiln's API tokens. */
export const gateway = new Gateway({ authHandler: auth });
