import { posix } from "node:path";
import { AppError } from "../../../lib/errors";
import type { FakeSandbox } from "./state";

/** An answer of the fake: JSON, raw bytes or nothing. */
export interface Reply {
  status: number;
  json?: unknown;
  body?: Buffer;
  contentType?: string;
}

/** A request as the toolbox routes see it. */
export interface ToolboxRequest {
  method: string;
  /** The path below `/toolbox/<id>/`, e.g. `files/bulk-upload`. */
  route: string;
  query: URLSearchParams;
  body: Buffer;
  contentType?: string;
}

/** Each capture of a command is kept up to this many bytes (the daemon keeps all; the fake's tests need less). */
export const MAX_OUTPUT_BYTES = 16 * 1024 * 1024;
/** A day: what stands for "no timeout". */
export const DAY_MS = 24 * 60 * 60 * 1000;

/** A daemon error answer (`{message, statusCode, code, source}`), as the SDK maps them. */
export function daemonError(status: number, code: string, message: string): Reply {
  return { status, json: { message, statusCode: status, code, source: "DAYTONA_DAEMON" } };
}

/** A local provider failure as the daemon would answer it. */
export function replyForError(err: unknown): Reply {
  if (err instanceof AppError) return daemonError(err.status, err.code.toUpperCase(), err.message);
  return daemonError(500, "INTERNAL", (err as Error).message ?? String(err));
}

/**
 * A path of the toolbox API as a path of the local sandbox: absolute paths must lie in the sandbox's
 * file system (its host directory), relative ones are relative to the user's home (the daemon's working directory).
 */
export function localPath(sandbox: FakeSandbox, path: string): string {
  const absolute = path.startsWith("/") ? posix.normalize(path) : posix.join(sandbox.home, path);
  if (absolute === sandbox.hostRoot) return "";
  if (!absolute.startsWith(`${sandbox.hostRoot}/`)) {
    throw new AppError("permission_denied", `open ${path}: permission denied (the fake sandbox's file system is ${sandbox.hostRoot})`);
  }
  return absolute.slice(sandbox.hostRoot.length + 1);
}

/** The environment every command of the sandbox starts with: its user's HOME. */
export function commandEnv(sandbox: FakeSandbox, extra: Record<string, string> = {}): Record<string, string> {
  return { ...extra, HOME: sandbox.home };
}

/** The request's JSON body (an empty body is `{}`). */
export function json(body: Buffer): Record<string, unknown> {
  try {
    return body.length === 0 ? {} : (JSON.parse(body.toString("utf8")) as Record<string, unknown>);
  } catch {
    throw new AppError("invalid_argument", "the request body is not JSON");
  }
}
