import { auth as _auth_auth } from "../../../greeter/encore-auth.js";

export type AuthData = Awaited<ReturnType<typeof _auth_auth>>;

export declare function getAuthData(): AuthData | null;

declare module "encore.dev/api" {
  interface CallOpts {
    authData?: AuthData;
  }
}
