import { currentRequest } from "encore.dev";
import type { IncomingMessage, ServerResponse } from "node:http";
import { api } from "encore.dev/api";
import { getAuthData } from "~encore/auth";
import { call } from "../lib/encore";
import type { ServiceHealth } from "../lib/health";
import type { AuthData } from "../lib/routes";
import type { AnswerApprovalRequest, Approval, ApprovalList, Generation, GenerationPage, GenerationRef, ListApprovalsRequest, ListGenerationsRequest, StartGenerationRequest } from "./contract";
import { ai } from "./encore-wiring";

/** The authenticated caller (every `auth: true` endpoint has one). */
const caller = (): AuthData => getAuthData()!;

/** Health of the ai service, its database and the services a generation depends on. */
export const health = api(
  { expose: true, auth: false, method: "GET", path: "/generations/health" },
  async (): Promise<ServiceHealth> => call(() => ai().health()),
);

/** Queues a generation on one of the caller's projects and returns it at once. */
export const start = api(
  { expose: true, auth: true, method: "POST", path: "/generations" },
  async (req: StartGenerationRequest): Promise<Generation> => call(() => ai().start(req, caller())),
);

/** A project's generations, newest first. */
export const list = api(
  { expose: true, auth: true, method: "GET", path: "/generations" },
  async (req: ListGenerationsRequest): Promise<GenerationPage> => call(() => ai().list(req, caller())),
);

/** A generation with its step, progress, usage and outcome. */
export const get = api(
  { expose: true, auth: true, method: "GET", path: "/generations/:id" },
  async (req: GenerationRef): Promise<Generation> => call(() => ai().get(req, caller())),
);

/** Stops a queued or running generation; its files are kept. */
export const cancel = api(
  { expose: true, auth: true, method: "POST", path: "/generations/:id/cancel" },
  async (req: GenerationRef): Promise<Generation> => call(() => ai().cancel(req, caller())),
);

/** Server-Sent Events of a generation: replayed from Last-Event-ID (or ?after=), then live. */
export const events = api.raw(
  { expose: true, auth: true, method: "GET", path: "/generations/:id/events" },
  async (req: IncomingMessage, res: ServerResponse) => {
    const params = (currentRequest() as { pathParams?: Record<string, string> } | undefined)?.pathParams ?? {};
    await ai().events(req, res, params, caller());
  },
);

/** A generation's approvals: the pending ones by default, every one with pending=false. */
export const listApprovals = api(
  { expose: true, auth: true, method: "GET", path: "/generations/:id/approvals" },
  async (req: ListApprovalsRequest): Promise<ApprovalList> => call(() => ai().listApprovals(req, caller())),
);

/** Approves or denies a pending tool call of one of the caller's generations (409 once answered or timed out). */
export const answerApproval = api(
  { expose: true, auth: true, method: "POST", path: "/generations/:id/approvals/:approvalId" },
  async (req: AnswerApprovalRequest): Promise<Approval> => call(() => ai().answerApproval(req, caller())),
);
