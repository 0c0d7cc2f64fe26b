import { currentRequest } from "encore.dev";
import type { IncomingMessage, ServerResponse } from "node:http";
import { api } from "encore.dev/api";
import { getAuthData } from "~encore/auth";
import { call } from "../lib/encore";
import type { ServiceHealth } from "../lib/health";
import type { AuthData } from "../lib/routes";
import type { TerminalList, TerminalTicket } from "../workspace/contract";
import type {
  AppendMessageRequest,
  Conversation,
  ConversationMessage,
  CreatedShareLink,
  CreatedToken,
  CreateShareLinkRequest,
  CreateProjectRequest,
  CreateTokenRequest,
  DeleteProjectRequest,
  ListProjectsRequest,
  OpenProjectTerminalRequest,
  Project,
  ProjectLogs,
  ProjectLogsRequest,
  ProjectPage,
  ProjectPreview,
  ProjectRef,
  RecordActivityRequest,
  ShareLink,
  ShareLinkList,
  ShareLinkRef,
  TemplateList,
  TokenInfo,
  TokenList,
  TokenRef,
  UpdateProjectRequest,
} from "./contract";
import { projects } from "./encore-wiring";

/** The authenticated caller (every `auth: true` endpoint has one). */
const caller = (): AuthData => getAuthData()!;

/** Health of the projects service and its database. */
export const health = api(
  { expose: true, auth: false, method: "GET", path: "/projects/health" },
  async (): Promise<ServiceHealth> => call(() => projects().health()),
);

/** Creates a project owned by the caller. */
export const create = api(
  { expose: true, auth: true, method: "POST", path: "/projects" },
  async (req: CreateProjectRequest): Promise<Project> => call(() => projects().create(req, caller())),
);

/** The caller's projects, newest first, a page at a time. */
export const list = api(
  { expose: true, auth: true, method: "GET", path: "/projects" },
  async (req: ListProjectsRequest): Promise<ProjectPage> => call(() => projects().list(req, caller())),
);

/** One of the caller's projects. */
export const get = api(
  { expose: true, auth: true, method: "GET", path: "/projects/:id" },
  async (req: ProjectRef): Promise<Project> => call(() => projects().get(req, caller())),
);

/** Renames or re-describes one of the caller's projects. */
export const update = api(
  { expose: true, auth: true, method: "PATCH", path: "/projects/:id" },
  async (req: UpdateProjectRequest): Promise<Project> => call(() => projects().update(req, caller())),
);

/** Deletes one of the caller's projects. */
export const del = api(
  { expose: true, auth: true, method: "DELETE", path: "/projects/:id" },
  async (req: DeleteProjectRequest): Promise<void> => call(() => projects().del(req, caller())),
);

/** The link that opens one of the caller's project previews now (re-signed before it expires). */
export const preview = api(
  { expose: true, auth: true, method: "GET", path: "/projects/:id/preview" },
  async (req: ProjectRef): Promise<ProjectPreview> => call(() => projects().preview(req, caller())),
);

/** The project's thumbnail as a PNG: the screenshot of its app at its last passing check (ETag, 304). */
export const thumbnail = api.raw(
  { expose: true, auth: true, method: "GET", path: "/projects/:id/thumbnail" },
  async (req: IncomingMessage, res: ServerResponse) => {
    const params = (currentRequest() as { pathParams?: Record<string, string> } | undefined)?.pathParams ?? {};
    await projects().thumbnail(req, res, params, caller());
  },
);

/** The project's conversation: prompts and the agent's summaries, in order. */
export const conversation = api(
  { expose: true, auth: true, method: "GET", path: "/projects/:id/conversation" },
  async (req: ProjectRef): Promise<Conversation> => call(() => projects().conversation(req, caller())),
);

/** Appends to a project's conversation (called by the ai service). */
export const appendMessage = api(
  { expose: false, auth: false, method: "POST", path: "/projects/:id/conversation" },
  async (req: AppendMessageRequest): Promise<ConversationMessage> => call(() => projects().appendMessage(req)),
);

/** The end of the project's dev server output, made safe to show. */
export const logs = api(
  { expose: true, auth: true, method: "GET", path: "/projects/:id/logs" },
  async (req: ProjectLogsRequest): Promise<ProjectLogs> => call(() => projects().logs(req, caller())),
);

/** Records a project's workspace, preview and latest job (called by the services that own them). */
export const recordActivity = api(
  { expose: false, auth: false, method: "POST", path: "/projects/:id/activity" },
  async (req: RecordActivityRequest): Promise<Project> => call(() => projects().recordActivity(req)),
);

/** Creates an API token for the caller; its value is returned once. */
export const createToken = api(
  { expose: true, auth: true, method: "POST", path: "/projects/tokens" },
  async (req: CreateTokenRequest): Promise<CreatedToken> => call(() => projects().createToken(req, caller())),
);

/** The caller's API tokens. */
export const listTokens = api(
  { expose: true, auth: true, method: "GET", path: "/projects/tokens" },
  async (): Promise<TokenList> => call(() => projects().listTokens({}, caller())),
);

/** Revokes one of the caller's tokens. */
export const revokeToken = api(
  { expose: true, auth: true, method: "DELETE", path: "/projects/tokens/:id" },
  async (req: TokenRef): Promise<TokenInfo> => call(() => projects().revokeToken(req, caller())),
);

/** The templates a project can start from. */
export const templates = api(
  { expose: true, auth: true, method: "GET", path: "/templates" },
  async (): Promise<TemplateList> => call(() => projects().templates({}, caller())),
);

/** Creates a share link to one of the caller's projects; its token is returned once. */
export const createShareLink = api(
  { expose: true, auth: true, method: "POST", path: "/projects/:id/shares" },
  async (req: CreateShareLinkRequest): Promise<CreatedShareLink> => call(() => projects().createShareLink(req, caller())),
);

/** The project's share links (prefix and dates; never the token). */
export const listShareLinks = api(
  { expose: true, auth: true, method: "GET", path: "/projects/:id/shares" },
  async (req: ProjectRef): Promise<ShareLinkList> => call(() => projects().listShareLinks(req, caller())),
);

/** Revokes one of the project's share links. */
export const revokeShareLink = api(
  { expose: true, auth: true, method: "DELETE", path: "/projects/:id/shares/:linkId" },
  async (req: ShareLinkRef): Promise<ShareLink> => call(() => projects().revokeShareLink(req, caller())),
);

/** A terminal in the project's live sandbox and a single-use ticket for its socket (or a ticket to reconnect to a live one). */
export const openTerminal = api(
  { expose: true, auth: true, method: "POST", path: "/projects/:id/terminals" },
  async (req: OpenProjectTerminalRequest): Promise<TerminalTicket> => call(() => projects().openTerminal(req, caller())),
);

/** The project's live terminals. */
export const listTerminals = api(
  { expose: true, auth: true, method: "GET", path: "/projects/:id/terminals" },
  async (req: ProjectRef): Promise<TerminalList> => call(() => projects().listTerminals(req, caller())),
);

/** The share gateway: `/s/<token>/...` serves the linked project's live preview to anyone holding the link. */
export const share = api.raw(
  { expose: true, auth: false, method: "*", path: "/s/*path" },
  async (req: IncomingMessage, res: ServerResponse) => {
    const params = (currentRequest() as { pathParams?: Record<string, string> } | undefined)?.pathParams ?? {};
    await projects().share(req, res, params);
  },
);
