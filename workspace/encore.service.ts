import { Service } from "encore.dev/service";

// Live sandboxes (Daytona or local): lifecycle, files, commands, dev servers and preview URLs.
export default new Service("workspace");
