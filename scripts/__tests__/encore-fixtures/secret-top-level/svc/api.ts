import { secret } from "encore.dev/config";
export function key(): string {
  const k = secret("ApiKey"); // violation
  return k();
}
const name = "Other";
export const other = secret(name); // violation
