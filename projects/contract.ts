import type { ServiceHealth } from "../lib/health";
import type { AuthData, RawHandler, Routes } from "../lib/routes";
import type { TerminalList, TerminalTicket } from "../workspace/contract";

/** A project, with what the dashboard needs for its card. */
export interface Project {
  id: string;
  name: string;
  description: string;
  /** What the project's latest generation left: "new", "generating", "ready", "failed", ... */
  status: string;
  /** The template it started from ("blank": none). */
  template: string;
  workspaceId: string | null;
  previewUrl: string | null;
  /** Where its thumbnail is (`GET /projects/:id/thumbnail`, versioned by its hash); null until a generation's checks pass. */
  thumbnailUrl: string | null;
  latestJobId: string | null;
  /** When its generations ask before a tool call runs (see ApprovalMode). */
  approvalMode: ApprovalMode;
  createdAt: string;
  updatedAt: string;
}

/**
 * When a project's generations ask the user before a tool call runs: `auto` never; `commands` before
 * every command (execute_command, and a check that starts the model's own dev command); `everything`
 * before every call that changes files or runs code (commands, writes and edits, the app's checks).
 */
export type ApprovalMode = "auto" | "commands" | "everything";

/** The approval modes, for validation and the settings form. */
export const APPROVAL_MODES: readonly ApprovalMode[] = ["auto", "commands", "everything"];

/** Creates a project. */
export interface CreateProjectRequest {
  /** 1–100 characters after trimming; when absent or blank, derived from `description` (the first prompt). */
  name?: string;
  /** Up to 2,000 characters. */
  description?: string;
  /** A template's name from `GET /templates`; `vite-react` by default, `blank` for an empty project. */
  template?: string;
}

/** Names one project. */
export interface ProjectRef {
  id: string;
}

/** Where a browser opens a project's preview now. */
export interface ProjectPreview {
  /** The link to open. On Daytona a signed one: it opens this preview only, and only until `expiresAt`. */
  url: string;
  /** When the link stops working (ISO 8601); null when it does not expire (the local sandbox, public Daytona previews). */
  expiresAt: string | null;
}

/** Asks for the end of a project's dev server output. */
export interface ProjectLogsRequest {
  id: string;
  /** How much of the end: 1 to 65,536 bytes, 16,384 by default. */
  tailBytes?: number;
}

/** What the project's dev server printed last, made safe to show (the sandbox's output is untrusted text). */
export interface ProjectLogs {
  /** Its stdout and stderr, whole lines: terminal escapes and control characters removed, credentials masked. */
  output: string;
  /** Earlier output was left out (ask for more with `tailBytes`). */
  truncated: boolean;
  running: boolean;
  exitCode: number | null;
  /** The command the dev server runs; null when none was started. */
  command: string | null;
  /** The sandbox's status ("running", "stopped", ...), or "none" before the project has one. */
  workspaceStatus: string;
}

/** Changes a project's name or description. */
export interface UpdateProjectRequest {
  id: string;
  name?: string;
  description?: string;
  approvalMode?: ApprovalMode;
}

/** Deletes a project; `purge` also removes its files from the vfs. */
export interface DeleteProjectRequest {
  id: string;
  purge?: boolean;
}

/** One page of the caller's projects, newest first. */
export interface ListProjectsRequest {
  /** 1–100, default 20. */
  limit?: number;
  /** `nextCursor` of the previous page. */
  cursor?: string;
}

/** A page of projects. */
export interface ProjectPage {
  projects: Project[];
  /** Pass as `cursor` for the next page; null on the last page. */
  nextCursor: string | null;
}

/** Facts other services own about a project (workspace, preview, latest job), written through the contract. */
export interface RecordActivityRequest {
  id: string;
  status?: string;
  workspaceId?: string;
  previewUrl?: string | null;
  latestJobId?: string;
  /** The sha256 of the thumbnail the vfs now keeps for it. */
  thumbnailSha256?: string;
  /**
   * The version of `status` and `latestJobId` in the ai service, which owns them (ai/jobs/project-state.ts):
   * told with a version not newer than the recorded one, they are left as they are.
   */
  statusVersion?: number;
}

/** One entry of a project's conversation. */
export interface ConversationMessage {
  seq: number;
  role: "user" | "assistant";
  content: string;
  jobId: string | null;
  createdAt: string;
}

/** A project's conversation, oldest first. */
export interface Conversation {
  messages: ConversationMessage[];
}

/** Appends to a project's conversation (the ai service: a prompt, then the agent's summary). */
export interface AppendMessageRequest {
  id: string;
  role: "user" | "assistant";
  content: string;
  jobId?: string;
}

/** Creates an API token. */
export interface CreateTokenRequest {
  /** A label, 1–100 characters ("laptop", "CI"). */
  name: string;
}

/** An API token as listed: never its value or its hash. */
export interface TokenInfo {
  id: string;
  name: string;
  /** The first characters of the token, to recognise it. */
  prefix: string;
  createdAt: string;
  lastUsedAt: string | null;
  revokedAt: string | null;
}

/** A token just created: `token` is shown this once and never again. */
export interface CreatedToken {
  token: string;
  info: TokenInfo;
}

/** The caller's tokens. */
export interface TokenList {
  tokens: TokenInfo[];
}

/** Names one token. */
export interface TokenRef {
  id: string;
}

/** A starter a project can be created from, as the new-project form shows it. */
export interface TemplateSummary {
  name: string;
  title: string;
  /** One line. */
  description: string;
  /** What it is built with ("Vite", "React", ...); empty for blank. */
  stack: string[];
  /** Prompts a user can start from. */
  examples: string[];
}

/** Every template, the default first. */
export interface TemplateList {
  templates: TemplateSummary[];
  /** The template a project gets when its creator names none. */
  defaultTemplate: string;
}

/** Creates a share link to one of the caller's projects. */
export interface CreateShareLinkRequest {
  id: string;
  /** How long the link works, in seconds: 60 to 2,592,000 (30 days); 7 days by default. */
  expiresInSeconds?: number;
}

/** A share link as listed: never its token or its hash. */
export interface ShareLink {
  id: string;
  projectId: string;
  /** The first characters of the token, to recognise it. */
  prefix: string;
  createdAt: string;
  expiresAt: string;
  revokedAt: string | null;
}

/** A share link just created: `token` (and `path`, which holds it) is shown this once and never again. */
export interface CreatedShareLink {
  token: string;
  /** Where the preview opens on this server: `/s/<token>/`. */
  path: string;
  /** Where it opens on a host of its own (every absolute path the app's), when the share listener runs; else null. */
  url: string | null;
  link: ShareLink;
}

/** A project's share links, newest first. */
export interface ShareLinkList {
  links: ShareLink[];
}

/** Names one share link of a project. */
export interface ShareLinkRef {
  id: string;
  linkId: string;
}

/** No request fields. */
export type Empty = Record<string, never>;

/** The projects service: projects, their owners and API tokens, and each project's conversation. */
/** Opens a terminal in the project's live sandbox, or a new ticket for one of its live terminals (a reconnect). */
export interface OpenProjectTerminalRequest {
  id: string;
  /** A live terminal to reconnect to; a new one when absent. */
  terminalId?: string;
  /** The size of a new terminal (24 × 80 by default). */
  rows?: number;
  cols?: number;
}

export interface ProjectsApi {
  /** The service's health: its Postgres database. */
  health(): Promise<ServiceHealth>;
  /** Creates a project owned by the caller. */
  create(req: CreateProjectRequest, auth: AuthData): Promise<Project>;
  /** The caller's projects, newest first, a page at a time. */
  list(req: ListProjectsRequest, auth: AuthData): Promise<ProjectPage>;
  /** One of the caller's projects (another user's is `not_found`). */
  get(req: ProjectRef, auth: AuthData): Promise<Project>;
  /** Renames or re-describes one of the caller's projects, or sets its approval mode. */
  update(req: UpdateProjectRequest, auth: AuthData): Promise<Project>;
  /** Deletes one of the caller's projects. */
  del(req: DeleteProjectRequest, auth: AuthData): Promise<void>;
  /**
   * The link that opens one of the caller's project previews now: the stored `previewUrl` of a Daytona
   * project is a signed link that dies after its TTL, so the dashboard asks for this one and asks again
   * before `expiresAt` (the provider re-signs when less than half the TTL is left). `failed_precondition`
   * when the project has no preview yet or its sandbox is not running.
   */
  preview(req: ProjectRef, auth: AuthData): Promise<ProjectPreview>;
  /** The end of the project's dev server output (polled by the dashboard's Logs tab); nothing is started to read it. */
  logs(req: ProjectLogsRequest, auth: AuthData): Promise<ProjectLogs>;
  /**
   * The project's thumbnail as a PNG (raw): the screenshot of its app at its last passing check, with
   * its content hash as ETag (a matching If-None-Match answers 304). `not_found` until there is one.
   */
  thumbnail: RawHandler;
  /** The project's conversation: prompts and the agent's summaries, in order. */
  conversation(req: ProjectRef, auth: AuthData): Promise<Conversation>;
  /** Appends to a project's conversation (service-to-service). */
  appendMessage(req: AppendMessageRequest): Promise<ConversationMessage>;
  /** Records the workspace, preview and latest job of a project (service-to-service). */
  recordActivity(req: RecordActivityRequest): Promise<Project>;
  /** Creates an API token for the caller; its value is returned once. */
  createToken(req: CreateTokenRequest, auth: AuthData): Promise<CreatedToken>;
  /** The caller's API tokens (prefix, name, dates; never the value). */
  listTokens(req: Empty, auth: AuthData): Promise<TokenList>;
  /** Revokes one of the caller's tokens: it stops working at once. */
  revokeToken(req: TokenRef, auth: AuthData): Promise<TokenInfo>;
  /** The templates a project can start from. */
  templates(req: Empty, auth: AuthData): Promise<TemplateList>;
  /** Creates a link that opens the project's live preview for anyone holding it, until it expires or is revoked. */
  createShareLink(req: CreateShareLinkRequest, auth: AuthData): Promise<CreatedShareLink>;
  /** The project's share links (prefix and dates; never the token). */
  listShareLinks(req: ProjectRef, auth: AuthData): Promise<ShareLinkList>;
  /** Revokes one of the project's share links: it answers 404 at once. */
  revokeShareLink(req: ShareLinkRef, auth: AuthData): Promise<ShareLink>;
  /**
   * The share gateway (raw, no auth): `/s/<token>/<path>` proxies to the linked project's live preview;
   * a malformed, unknown, expired or revoked token answers 404 with no detail.
   */
  share: RawHandler;
  /**
   * A terminal in the project's live sandbox and a single-use ticket (a minute) for its WebSocket at
   * `socketPath?ticket=`; with `terminalId`, a ticket to reconnect to that live terminal.
   */
  openTerminal(req: OpenProjectTerminalRequest, auth: AuthData): Promise<TerminalTicket>;
  /** The project's live terminals. */
  listTerminals(req: ProjectRef, auth: AuthData): Promise<TerminalList>;
}

/** Where each ProjectsApi method is served (mirrored by projects/api.ts). */
export const projectsRoutes = {
  health: { method: "GET", path: "/projects/health", expose: true, auth: false, fields: {} },
  create: { method: "POST", path: "/projects", expose: true, auth: true },
  list: { method: "GET", path: "/projects", expose: true, auth: true, fields: { limit: "number", cursor: "string" } },
  get: { method: "GET", path: "/projects/:id", expose: true, auth: true, fields: { id: "string" } },
  update: { method: "PATCH", path: "/projects/:id", expose: true, auth: true },
  del: { method: "DELETE", path: "/projects/:id", expose: true, auth: true, fields: { id: "string", purge: "boolean" } },
  preview: { method: "GET", path: "/projects/:id/preview", expose: true, auth: true, fields: { id: "string" } },
  logs: { method: "GET", path: "/projects/:id/logs", expose: true, auth: true, fields: { id: "string", tailBytes: "number" } },
  thumbnail: { method: "GET", path: "/projects/:id/thumbnail", expose: true, auth: true, raw: true },
  conversation: { method: "GET", path: "/projects/:id/conversation", expose: true, auth: true, fields: { id: "string" } },
  appendMessage: { method: "POST", path: "/projects/:id/conversation", expose: false, auth: false },
  recordActivity: { method: "POST", path: "/projects/:id/activity", expose: false, auth: false },
  createToken: { method: "POST", path: "/projects/tokens", expose: true, auth: true },
  listTokens: { method: "GET", path: "/projects/tokens", expose: true, auth: true, fields: {} },
  revokeToken: { method: "DELETE", path: "/projects/tokens/:id", expose: true, auth: true, fields: { id: "string" } },
  templates: { method: "GET", path: "/templates", expose: true, auth: true, fields: {} },
  createShareLink: { method: "POST", path: "/projects/:id/shares", expose: true, auth: true },
  listShareLinks: { method: "GET", path: "/projects/:id/shares", expose: true, auth: true, fields: { id: "string" } },
  revokeShareLink: { method: "DELETE", path: "/projects/:id/shares/:linkId", expose: true, auth: true, fields: { id: "string", linkId: "string" } },
  share: { method: "*", path: "/s/*path", expose: true, auth: false, raw: true },
  openTerminal: { method: "POST", path: "/projects/:id/terminals", expose: true, auth: true },
  listTerminals: { method: "GET", path: "/projects/:id/terminals", expose: true, auth: true, fields: { id: "string" } },
} as const satisfies Routes<ProjectsApi>;
