import { Service } from "encore.dev/service"; // violation
const svc = new Service("svc");
export default svc;
