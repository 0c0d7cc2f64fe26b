import { Service } from "encore.dev/service";

// Projects, owners and API tokens, and each project's conversation.
export default new Service("projects");
