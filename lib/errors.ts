/** Encore's error codes (encore.dev/api `ErrCode`), spelled as they appear on the wire. */
export type ErrorCode =
  | "canceled"
  | "unknown"
  | "invalid_argument"
  | "deadline_exceeded"
  | "not_found"
  | "already_exists"
  | "permission_denied"
  | "resource_exhausted"
  | "failed_precondition"
  | "aborted"
  | "out_of_range"
  | "unimplemented"
  | "internal"
  | "unavailable"
  | "data_loss"
  | "unauthenticated";

/** HTTP status for each error code, as Encore's runtime maps them. */
export const HTTP_STATUS: Record<ErrorCode, number> = {
  canceled: 499,
  unknown: 500,
  invalid_argument: 400,
  deadline_exceeded: 504,
  not_found: 404,
  already_exists: 409,
  permission_denied: 403,
  resource_exhausted: 429,
  failed_precondition: 400,
  aborted: 409,
  out_of_range: 400,
  unimplemented: 501,
  internal: 500,
  unavailable: 503,
  data_loss: 500,
  unauthenticated: 401,
};

/** Extra facts about an error a client can act on (which field, which job, ...). */
export type ErrorDetails = Record<string, unknown>;

/** Encore's JSON error body: `{ code, message, details }`. */
export interface ErrorBody {
  code: ErrorCode;
  message: string;
  details: ErrorDetails | null;
}

/**
 * The one error type the framework-free core throws. `api.ts` turns it into Encore's `APIError`,
 * the standalone server into the same JSON body and status.
 */
export class AppError extends Error {
  constructor(
    readonly code: ErrorCode,
    message: string,
    readonly details: ErrorDetails | null = null,
  ) {
    super(message);
    this.name = "AppError";
  }

  get status(): number {
    return HTTP_STATUS[this.code];
  }

  toBody(): ErrorBody {
    return { code: this.code, message: this.message, details: this.details };
  }
}

/** An `invalid_argument` error that names the offending field (also in `details.field`). */
export function invalidArgument(field: string, problem: string): AppError {
  return new AppError("invalid_argument", `${field}: ${problem}`, { field });
}

/** A `not_found` error for a resource kind and id. */
export function notFound(kind: string, id: string): AppError {
  return new AppError("not_found", `${kind} ${JSON.stringify(id)} not found`);
}

/** Whether `err` carries the error code `code` (an AppError, or Encore's APIError from another service). */
export function hasCode(err: unknown, code: ErrorCode): boolean {
  return typeof err === "object" && err !== null && (err as { code?: unknown }).code === code;
}

export const GENERIC_INTERNAL_MESSAGE = "an internal error occurred";

/** Postgres SQLSTATEs of a connection lost or refused (admin shutdown, crash, cannot connect). */
const CONNECTION_STATES = new Set(["57P01", "57P02", "57P03", "08000", "08001", "08003", "08004", "08006"]);

/** Whether `err` says the database connection failed, rather than the request: worth a retry. */
export function isConnectionFailure(err: unknown): boolean {
  const e = err as { code?: unknown; message?: unknown } | null;
  if (!e || typeof e !== "object") return false;
  if (typeof e.code === "string" && (CONNECTION_STATES.has(e.code) || ["ECONNREFUSED", "ECONNRESET", "EPIPE"].includes(e.code))) return true;
  return typeof e.message === "string" && /Connection terminated|connection error|Client was closed/i.test(e.message);
}

/** The error a client gets when the database connection failed: retry shortly. */
export const DATABASE_UNAVAILABLE = new AppError("unavailable", "the database is unavailable right now; try again in a moment");

/**
 * The body a client sees for any thrown value: an AppError as itself, a lost database connection as
 * `unavailable`, anything else as a generic `internal` error (the original stays in the server's log,
 * never in the response).
 */
export function toErrorBody(err: unknown): { status: number; body: ErrorBody } {
  if (err instanceof AppError) return { status: err.status, body: err.toBody() };
  if (isConnectionFailure(err)) return { status: DATABASE_UNAVAILABLE.status, body: DATABASE_UNAVAILABLE.toBody() };
  return { status: 500, body: { code: "internal", message: GENERIC_INTERNAL_MESSAGE, details: null } };
}

export function isErrorCode(value: unknown): value is ErrorCode {
  return typeof value === "string" && Object.hasOwn(HTTP_STATUS, value);
}
