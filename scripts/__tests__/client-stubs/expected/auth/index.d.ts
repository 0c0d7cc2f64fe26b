export { type AuthData, getAuthData } from "../internal/auth/auth";
