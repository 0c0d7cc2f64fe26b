import { invalidArgument } from "../../lib/errors";
import type { ExecRequest, ProcessRequest } from "./provider";

/** Longest command line accepted: one argv element of Linux (MAX_ARG_STRLEN). */
const MAX_COMMAND_BYTES = 128 * 1024;
const MAX_ENV_ENTRIES = 256;
const MAX_TIMEOUT_MS = 24 * 60 * 60 * 1000;
/** Each of output, stdout and stderr is held in memory up to this cap. */
const MAX_OUTPUT_BYTES = 16 * 1024 * 1024;
const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;
const PROCESS_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;

/** Refuses a command line that is empty, not text, holds a NUL byte or is too long for one argv element. */
function checkCommand(command: unknown): void {
  if (typeof command !== "string" || command.trim() === "") throw invalidArgument("command", "must be a non-empty command line");
  if (command.includes("\0")) throw invalidArgument("command", "must not contain a NUL byte");
  if (Buffer.byteLength(command) >= MAX_COMMAND_BYTES) throw invalidArgument("command", `must be shorter than ${MAX_COMMAND_BYTES} bytes`);
}

/** Refuses environment variables with names a shell cannot hold, values with NUL bytes, or too many of them. */
function checkEnv(env: unknown): void {
  if (env === undefined) return;
  if (typeof env !== "object" || env === null || Array.isArray(env)) throw invalidArgument("env", "must be an object of strings");
  const entries = Object.entries(env);
  if (entries.length > MAX_ENV_ENTRIES) throw invalidArgument("env", `must have at most ${MAX_ENV_ENTRIES} variables`);
  for (const [name, value] of entries) {
    if (!ENV_NAME.test(name)) throw invalidArgument("env", `variable name ${JSON.stringify(name)} is not a valid name`);
    if (typeof value !== "string" || value.includes("\0")) throw invalidArgument("env", `variable ${name} must be a string without NUL bytes`);
  }
}

function checkBound(field: string, value: unknown, max: number): void {
  if (typeof value !== "number" || !Number.isInteger(value) || value < 1 || value > max) {
    throw invalidArgument(field, `must be a whole number from 1 to ${max}`);
  }
}

/** Refuses an exec request whose command, environment, timeout or output cap is out of bounds (its cwd is checked as a path). */
export function checkExecRequest(req: ExecRequest): void {
  checkCommand(req.command);
  checkEnv(req.env);
  checkBound("timeoutMs", req.timeoutMs, MAX_TIMEOUT_MS);
  checkBound("maxOutputBytes", req.maxOutputBytes, MAX_OUTPUT_BYTES);
}

/** Refuses a process request with a bad name, command or environment (its cwd is checked as a path). */
export function checkProcessRequest(req: ProcessRequest): void {
  if (typeof req.name !== "string" || !PROCESS_NAME.test(req.name)) {
    throw invalidArgument("name", "must be 1 to 64 letters, digits, dots, dashes or underscores, starting with a letter or digit");
  }
  checkCommand(req.command);
  checkEnv(req.env);
}
