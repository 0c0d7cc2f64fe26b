import type { AuthData } from "../../lib/routes";
import { requireText } from "../../lib/validate";
import type { WorkspaceApi } from "../../workspace/contract";
import type { ProjectsApi } from "../contract";
import { createShareGateway, type ShareGateway } from "./gateway";
import { createShareLink, expirySeconds, listShareLinks, revokeShareLink } from "./links";
import type { WakeDeps } from "./wake";

/** What the share methods need from the projects service. */
export interface ShareDeps extends WakeDeps {
  workspace: Pick<WorkspaceApi, "preview"> & WakeDeps["workspace"];
  /** The id of one of the caller's projects (another user's is `not_found`). */
  owned(id: unknown, auth: AuthData): Promise<string>;
  now?: () => Date;
  /** `KILN_SHARE_ORIGIN` when the share listener runs. */
  shareOrigin?: string;
}

/** The share-link part of the projects service, and the gateway's WebSocket upgrade (no contract route: see server/app.ts). */
export type ShareMethods = Pick<ProjectsApi, "createShareLink" | "listShareLinks" | "revokeShareLink" | "share"> & {
  upgradeShare: ShareGateway["upgrade"];
  /** The share listener's handlers (each link on a host of its own), for server/share-listener.ts. */
  shareListener: { serve: ShareGateway["serveOwnOrigin"]; upgrade: ShareGateway["upgradeOwnOrigin"] };
};

/** Share links: owner-only create, list and revoke; the gateway serves them to anyone holding one. */
export function createShareMethods(deps: ShareDeps): ShareMethods {
  const now = deps.now ?? (() => new Date());
  const gateway = createShareGateway({ ...deps, now });
  return {
    async createShareLink(req, auth) {
      const projectId = await deps.owned(req.id, auth);
      const created = await createShareLink(deps.db, projectId, expirySeconds(req.expiresInSeconds), now());
      return { ...created, url: gateway.linkUrl(created.link.id, created.token) };
    },
    async listShareLinks(req, auth) {
      return { links: await listShareLinks(deps.db, await deps.owned(req.id, auth)) };
    },
    async revokeShareLink(req, auth) {
      const projectId = await deps.owned(req.id, auth);
      const revoked = await revokeShareLink(deps.db, projectId, requireText("linkId", req.linkId, { min: 1, max: 100 }));
      gateway.closeLink(revoked.id);
      return revoked;
    },
    share: gateway.serve,
    upgradeShare: gateway.upgrade,
    shareListener: { serve: gateway.serveOwnOrigin, upgrade: gateway.upgradeOwnOrigin },
  };
}
