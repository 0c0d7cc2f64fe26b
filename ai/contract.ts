import type { ServiceHealth } from "../lib/health";
import type { AuthData, RawHandler, Routes } from "../lib/routes";

/** Tokens a generation used, by kind. */
export interface TokenUsage {
  inputTokens: number;
  outputTokens: number;
  cacheReadTokens: number;
  cacheWriteTokens: number;
}

/** The checks an app goes through before a generation may complete, in the order they run. */
export type CheckKind = "typecheck" | "build" | "lint" | "dev_server" | "browser";

/** One error a check found (in `check_finished` events), with its place in the project when the tool printed one. */
export interface Diagnostic {
  /** Project-relative path, when the tool named a file. */
  file?: string;
  line?: number;
  column?: number;
  message: string;
}

/** `src/App.tsx:3:5 message`: a diagnostic as the agent's report and the dashboard show it. */
export function formatDiagnostic(d: Diagnostic): string {
  if (!d.file) return d.message;
  const place = d.line === undefined ? d.file : d.column === undefined ? `${d.file}:${d.line}` : `${d.file}:${d.line}:${d.column}`;
  return `${place} ${d.message}`;
}

/** The agent's tools, in the order they are offered to the model: the one list of their names. */
export const TOOL_NAMES = ["write_to_file", "read_file", "replace_in_file", "list_files", "search_files", "execute_command", "check_app", "attempt_completion"] as const;

/** The name of one of the agent's tools (a tool event's `name` is a string: the model may call one that does not exist). */
export type ToolName = (typeof TOOL_NAMES)[number];

/** The tools that write a file: approval mode `everything` shows their diff, and their cards open the file. */
export const FILE_TOOLS: ReadonlySet<string> = new Set<ToolName>(["write_to_file", "replace_in_file"]);

/** What a `workspace` event says happened to the job's sandbox, or to the dev server of its template. */
export type WorkspaceEventData =
  | { action: "starting"; workspaceId: string; status: string }
  | { action: "recreating"; previous: string; reason: string }
  /** Its archived sandbox is being restored (minutes on Daytona); the job waits for it. */
  | { action: "restoring"; workspaceId: string }
  /** The template's dev server, started beside the agent's first turn, did not answer: why, and its last output. */
  | { action: "dev_server_not_answering"; problem: string | null; logTail: string };

/** What an approval asks about, as the user sees it: the exact command, or the file and a diff of the change. */
export type ApprovalSubject =
  | { kind: "command"; command: string; cwd: string | null; background: boolean }
  | { kind: "file"; path: string; diff: string }
  /** The app's checks, which run its code (and `devCommand` as its dev server when the model chose one). */
  | { kind: "checks"; devCommand: string | null };

/** Where an approval stands: waiting, or how it was answered (`timed_out` and `cancelled` count as denied). */
export type ApprovalStatus = "pending" | "approved" | "denied" | "timed_out" | "cancelled";

/** A tool call waiting for (or given) the user's decision before it runs. */
export interface Approval {
  id: string;
  jobId: string;
  /** The model's tool_use id: the call this decides. */
  toolUseId: string;
  tool: string;
  subject: ApprovalSubject;
  /** The tool's input exactly as the model sent it. */
  input: unknown;
  status: ApprovalStatus;
  /** The user's reason for a denial, or why it timed out or was cancelled. */
  reason: string | null;
  /** Whether the approval also allowed this exact command in the project from now on. */
  alwaysAllow: boolean;
  answeredBy: string | null;
  createdAt: string;
  /** When an unanswered request counts as denied (ISO 8601). */
  deadline: string;
  answeredAt: string | null;
}

/**
 * What kind of failure ended a generation, when the server knows it is not the app's: `misconfigured`,
 * the server's own configuration (the model API refused its key, its model or its account; a service's
 * secret or setting is missing), which no prompt can fix.
 */
export type FailureKind = "misconfigured";

/** What a generation's final event says: how it ended. */
export interface GenerationOutcomeData {
  status: "completed" | "failed" | "cancelled";
  error?: string | null;
  /** A failure's kind, when the server knows it (absent: the run itself failed). */
  errorKind?: FailureKind;
  summary?: string;
  previewUrl?: string;
}

/**
 * The data of every event a generation emits, by type: the one definition of the event log, which the
 * runner and the pipeline write, the store keeps, the SSE endpoint sends and the dashboard reads.
 */
export interface GenerationEventData {
  queued: { status: "queued"; step: "queued"; progress: number };
  step: { step: string; progress: number; workspaceId?: string };
  /** Streamed model text, coalesced. */
  text: { text: string };
  tool_started: { id: string; name: string };
  tool_finished: { id: string; name: string; input: unknown; ok: boolean; output: string; durationMs: number };
  usage: TokenUsage;
  workspace: WorkspaceEventData;
  /** The dev server answers: the preview can be shown now, while the agent still works (`token`: a signed link's, else null). */
  preview_ready: { url: string; token: string | null };
  restored: { files: number; snapshotId: string | null };
  /** Another server took the job over after the one running it died, and goes on from where it was. */
  resumed: { attempt: number; step: string };
  compacted: { savedChars: number };
  /** One of the app's checks (typecheck, build, lint, dev_server, browser) began. */
  check_started: { kind: CheckKind; target: string };
  /** …and ended: passed, or the errors it found with their places. */
  check_finished: { kind: CheckKind; target: string; ok: boolean; errors: Diagnostic[]; durationMs: number };
  /** The agent repeated a failing call: it was warned, or the run stopped. */
  loop_guard: { action: "warn" | "stop"; tool: string; repeats: number; message: string };
  /** The passing check's screenshot is the project's thumbnail now. */
  thumbnail: { sha256: string; url: string };
  /** A tool call waits for the user's decision (the job's step is `waiting_for_approval` meanwhile). */
  approval_requested: { approvalId: string; toolUseId: string; tool: string; subject: ApprovalSubject; deadline: string };
  /** …and was decided: approved (the tool runs), denied, timed out or cancelled (it does not). */
  approval_answered: { approvalId: string; toolUseId: string; status: "approved" | "denied" | "timed_out" | "cancelled"; reason: string | null; alwaysAllow: boolean };
  completed: GenerationOutcomeData;
  failed: GenerationOutcomeData;
  cancelled: GenerationOutcomeData;
}

/** The type of a generation event. */
export type GenerationEventType = keyof GenerationEventData;

/** One event of a generation as the stream sends it: its id (`seq`), when, its type and its data. */
export type GenerationEvent = { [K in GenerationEventType]: { seq: number; at: string; type: K; data: GenerationEventData[K] } }[GenerationEventType];

/** Event types after which a generation says nothing more (the stream closes for good). */
export const FINAL_EVENT_TYPES: ReadonlySet<string> = new Set<GenerationEventType>(["completed", "failed", "cancelled"]);

/** Appends one event to a generation's log, its data checked against its type. */
export type EmitEvent = <T extends GenerationEventType>(type: T, data: GenerationEventData[T]) => Promise<void>;

/** A generation job: one prompt, run on one project. */
export interface Generation {
  id: string;
  projectId: string;
  prompt: string;
  /** queued, running, completed, failed or cancelled. */
  status: "queued" | "running" | "completed" | "failed" | "cancelled";
  /** queued, preparing_workspace, waiting_for_workspace, generating, waiting_for_approval, completing or done. */
  step: string;
  /** 0–100; never goes backwards. */
  progress: number;
  /** Why it failed or was cancelled, in words a person understands. */
  error: string | null;
  /** What kind of failure it was, when the server knows (`misconfigured`: no prompt can fix it); else null. */
  errorKind: FailureKind | null;
  /** The agent's summary of what it built. */
  summary: string | null;
  previewUrl: string | null;
  workspaceId: string | null;
  /** How many times a runner picked it up (more than 1 after a server restart). */
  attempt: number;
  usage: TokenUsage;
  /** Estimated from the model's list prices. */
  estimatedCostUsd: number;
  toolCalls: number;
  createdAt: string;
  startedAt: string | null;
  finishedAt: string | null;
  /** Where to follow it: the Server-Sent Events stream of its steps. */
  links: { events: string };
}

/** Starts a generation on a project. */
export interface StartGenerationRequest {
  projectId: string;
  /** 1–20,000 characters. */
  prompt: string;
}

/** Names one generation. */
export interface GenerationRef {
  id: string;
}

/** One page of a project's generations, newest first. */
export interface ListGenerationsRequest {
  projectId: string;
  /** 1–100, default 20. */
  limit?: number;
  cursor?: string;
}

/** A page of generations. */
export interface GenerationPage {
  generations: Generation[];
  nextCursor: string | null;
}

/** A generation's approvals, oldest first. */
export interface ApprovalList {
  approvals: Approval[];
}

/** Lists a generation's approvals; `pending` (default true) keeps only those still waiting. */
export interface ListApprovalsRequest {
  id: string;
  pending?: boolean;
}

/** The user's decision on one approval of a generation. */
export interface AnswerApprovalRequest {
  id: string;
  approvalId: string;
  /** "approve" runs the tool call; "deny" answers the model with the denial (and `reason`). */
  decision: "approve" | "deny";
  /** Up to 1,000 characters, sent to the model with a denial. */
  reason?: string;
  /** With "approve" of a command: run this exact command string in this project without asking again. */
  alwaysAllow?: boolean;
}

/** The ai service: generation jobs and the agent tool loop that runs them. */
export interface AiApi {
  /** The service's health: its Postgres database and the services a generation needs. */
  health(): Promise<ServiceHealth>;
  /** Queues a generation and returns it at once; one active generation per project. */
  start(req: StartGenerationRequest, auth: AuthData): Promise<Generation>;
  /** A generation with its step, progress, usage and outcome. */
  get(req: GenerationRef, auth: AuthData): Promise<Generation>;
  /** A project's generations, newest first. */
  list(req: ListGenerationsRequest, auth: AuthData): Promise<GenerationPage>;
  /** Stops a queued or running generation; its files are kept. */
  cancel(req: GenerationRef, auth: AuthData): Promise<Generation>;
  /** Server-Sent Events: every event of the generation, replayed from Last-Event-ID, then live. */
  events: RawHandler;
  /** The generation's approvals (the pending ones by default). */
  listApprovals(req: ListApprovalsRequest, auth: AuthData): Promise<ApprovalList>;
  /** Answers a pending approval; answering twice, after its deadline or once the job ended is `aborted` (409). */
  answerApproval(req: AnswerApprovalRequest, auth: AuthData): Promise<Approval>;
}

/** Where each AiApi method is served (mirrored by ai/api.ts). */
export const aiRoutes = {
  health: { method: "GET", path: "/generations/health", expose: true, auth: false, fields: {} },
  start: { method: "POST", path: "/generations", expose: true, auth: true },
  list: { method: "GET", path: "/generations", expose: true, auth: true, fields: { projectId: "string", limit: "number", cursor: "string" } },
  get: { method: "GET", path: "/generations/:id", expose: true, auth: true, fields: { id: "string" } },
  cancel: { method: "POST", path: "/generations/:id/cancel", expose: true, auth: true },
  events: { method: "GET", path: "/generations/:id/events", expose: true, auth: true, raw: true },
  listApprovals: { method: "GET", path: "/generations/:id/approvals", expose: true, auth: true, fields: { id: "string", pending: "boolean" } },
  answerApproval: { method: "POST", path: "/generations/:id/approvals/:approvalId", expose: true, auth: true },
} as const satisfies Routes<AiApi>;
