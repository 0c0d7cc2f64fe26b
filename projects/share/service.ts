import { errorFields } from "../../lib/log";
import type { AuthData } from "../../lib/routes";
import { requireText } from "../../lib/validate";
import type { WorkspaceApi } from "../../workspace/contract";
import type { ProjectsApi } from "../contract";
import { createShareGateway, type ShareGateway } from "./gateway";
import { createShareLink, expirySeconds, listShareLinks, revokeShareLink } from "./links";
import type { WakeDeps } from "./wake";

/** What the share methods need from the projects service. */
export interface ShareDeps extends WakeDeps {
  workspace: Pick<WorkspaceApi, "preview" | "revokePreviewLinks"> & WakeDeps["workspace"];
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

  /**
   * Revokes the preview links the gateway used for the project (a visitor may have read one: the app
   * sees it as its Host), so the revoked link leaves nothing open; the gateway takes new ones for the
   * project's other links. The share link is revoked whatever happens here: a failure is logged, and
   * what the provider did not revoke is retried (the next link taken, the next revoke, the sandbox's next stop) until its TTL ends it.
   */
  async function revokeSharePreviews(projectId: string): Promise<void> {
    try {
      const row = await deps.db.query<{ workspace_id: string | null }>("SELECT workspace_id FROM projects WHERE id = $1", [projectId]);
      const workspaceId = row.rows[0]?.workspace_id;
      if (!workspaceId) return;
      gateway.forgetPreview(workspaceId);
      const { pending } = await deps.workspace.revokePreviewLinks({ id: workspaceId, audience: "share" });
      if (pending > 0) deps.log.warn("a revoked share link's preview links are not all revoked yet: retried later", { projectId, workspaceId, pending });
    } catch (err) {
      deps.log.warn("revoking a revoked share link's preview links failed: retried later", { projectId, ...errorFields(err) });
    }
  }
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
      await revokeSharePreviews(projectId);
      return revoked;
    },
    share: gateway.serve,
    upgradeShare: gateway.upgrade,
    shareListener: { serve: gateway.serveOwnOrigin, upgrade: gateway.upgradeOwnOrigin },
  };
}
