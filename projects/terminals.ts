import { AppError } from "../lib/errors";
import type { AuthData } from "../lib/routes";
import type { TerminalList, TerminalTicket, WorkspaceApi } from "../workspace/contract";
import type { OpenProjectTerminalRequest, ProjectRef } from "./contract";

/** The terminal endpoints of the projects service: the owner check, then the project's workspace does the rest. */
export interface TerminalMethods {
  openTerminal(req: OpenProjectTerminalRequest, auth: AuthData): Promise<TerminalTicket>;
  listTerminals(req: ProjectRef, auth: AuthData): Promise<TerminalList>;
}

/**
 * Terminals of a project's live sandbox, for its owner only: another user's project is `not_found`
 * (before any socket exists), a project with no workspace is `failed_precondition`.
 */
export function createTerminalMethods(deps: {
  workspace: Pick<WorkspaceApi, "openTerminal" | "listTerminals">;
  owned: (id: unknown, auth: AuthData) => Promise<{ id: string; workspace_id: string | null }>;
}): TerminalMethods {
  async function workspaceOf(id: unknown, auth: AuthData): Promise<string> {
    const project = await deps.owned(id, auth);
    if (!project.workspace_id) throw new AppError("failed_precondition", `project ${project.id} has no workspace yet: a generation makes one`);
    return project.workspace_id;
  }
  return {
    async openTerminal(req, auth) {
      const id = await workspaceOf(req.id, auth);
      return deps.workspace.openTerminal({ id, userID: auth.userID, terminalId: req.terminalId, rows: req.rows, cols: req.cols });
    },
    async listTerminals(req, auth) {
      return deps.workspace.listTerminals({ id: await workspaceOf(req.id, auth) });
    },
  };
}
