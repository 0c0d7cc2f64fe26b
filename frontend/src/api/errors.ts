import type { ErrorCode, ErrorDetails } from "../../../lib/errors";
import { HTTP_STATUS, isErrorCode } from "../../../lib/errors";

/** An error answered by the API (or the network), in Encore's terms. */
export class ApiError extends Error {
  constructor(
    /** HTTP status; 0 when the server could not be reached at all. */
    readonly status: number,
    /** Encore's error code (`unauthenticated`, `not_found`, ...); `unavailable` for network failures. */
    readonly code: ErrorCode,
    message: string,
    readonly details: ErrorDetails | null = null,
  ) {
    super(message);
    this.name = "ApiError";
  }

  /** True when the server was never reached (offline, DNS, refused connection, CORS). */
  get isNetworkError(): boolean {
    return this.status === 0;
  }
}

export function isApiError(value: unknown): value is ApiError {
  return value instanceof ApiError;
}

/** Encore's status → code mapping, inverted, for error bodies that are not Encore's (a proxy's 502). */
function codeForStatus(status: number): ErrorCode {
  if (status === 502 || status === 503) return "unavailable";
  const match = (Object.entries(HTTP_STATUS) as [ErrorCode, number][]).find(([, s]) => s === status);
  if (match) return match[0];
  return status >= 500 ? "internal" : "unknown";
}

/** Turns an error response into an ApiError, reading Encore's `{ code, message, details }` when present. */
export async function errorFromResponse(response: Response): Promise<ApiError> {
  const text = await response.text().catch(() => "");
  let body: unknown;
  try {
    body = text ? JSON.parse(text) : undefined;
  } catch {
    body = undefined;
  }
  if (body && typeof body === "object" && "code" in body && isErrorCode((body as { code: unknown }).code)) {
    const b = body as { code: ErrorCode; message?: unknown; details?: unknown };
    const details = b.details && typeof b.details === "object" ? (b.details as ErrorDetails) : null;
    return new ApiError(response.status, b.code, typeof b.message === "string" ? b.message : response.statusText, details);
  }
  const message = text && text.length < 300 && !text.trimStart().startsWith("<") ? text.trim() : response.statusText || `HTTP ${response.status}`;
  return new ApiError(response.status, codeForStatus(response.status), message);
}

/** A fetch that failed before any response (or was aborted) as an ApiError. */
export function networkError(err: unknown, url: string): ApiError {
  if (err instanceof ApiError) return err;
  if (err instanceof Error && err.name === "AbortError") return new ApiError(0, "canceled", "the request was cancelled");
  const reason = err instanceof Error ? err.message : String(err);
  return new ApiError(0, "unavailable", `could not reach the server (${reason})`, { url });
}
