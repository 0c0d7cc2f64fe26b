import { APIError } from "encore.dev/api"; // violation
export const notFound = () => APIError.notFound("nope");
