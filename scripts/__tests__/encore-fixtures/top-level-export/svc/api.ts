import { api } from "encore.dev/api";
const hidden = api({ method: "GET", path: "/svc/hidden" }, async (): Promise<void> => {}); // violation
export function make() {
  return api({ method: "GET", path: "/svc/made" }, async (): Promise<void> => {}); // violation
}
export default api({ method: "GET", path: "/svc/default" }, async (): Promise<void> => {}); // violation
void hidden;
