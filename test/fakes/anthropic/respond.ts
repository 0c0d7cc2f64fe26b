/**
 * Writing whole JSON responses.
 */
import type { ServerResponse } from "node:http";
import type { ApiErrorDetail, RecordedResponse } from "./types";

/** Sends `body` as `application/json` (the SDK returns a string for any other content type). */
export function sendJson(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  res.writeHead(status, { "content-type": "application/json", ...headers });
  res.end(JSON.stringify(body));
}

/** Sends `{"type":"error","error":…}` with `status` and returns its record. */
export function sendApiError(
  res: ServerResponse,
  status: number,
  error: ApiErrorDetail,
  headers: Record<string, string> = {},
): RecordedResponse {
  sendJson(res, status, { type: "error", error }, headers);
  return { kind: "error", status, error };
}
