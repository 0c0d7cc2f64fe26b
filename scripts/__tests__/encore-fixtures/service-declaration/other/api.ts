import { Service } from "encore.dev/service";
export const stray = new Service("stray"); // violation
