import { Service } from "encore.dev/service";

// Generation jobs and the Claude agent tool loop.
export default new Service("ai");
