import type { DevServerLogs } from "../workspace/contract";
import { wellFormed } from "../lib/unicode";
import type { ProjectLogs } from "./contract";

/** How much of the dev server's output the dashboard gets by default, and at most. */
export const LOG_TAIL_BYTES = { fallback: 16_384, max: 65_536 };

// Terminal escape sequences (CSI, OSC, and the two-byte ones): colours and cursor moves mean nothing on a page.
const ESCAPES = /\x1b\[[0-?]*[ -/]*[@-~]|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)?|\x1b[@-_]?/g;
// Control characters but tab and newline, C1 controls, and bidirectional overrides (which make text lie about its order).
const CONTROLS = /[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]/g;
// Credentials in the shapes Kiln, Anthropic and Daytona issue: the sandbox holds none, but a program may print one it was given.
const SECRETS = /\b(kiln_|sk-ant-|dtn_)[A-Za-z0-9_-]{16,}/g;

/**
 * The sandbox's output made safe to show: escapes and control characters removed, carriage returns as
 * line breaks, credentials masked, and (when `truncated`) the partial first line dropped.
 */
export function cleanLogs(logs: DevServerLogs, tailBytes: number): ProjectLogs {
  // A tail as long as asked for may have lost its start.
  const truncated = Buffer.byteLength(logs.output) >= tailBytes;
  let output = wellFormed(logs.output)
    .replace(/\r\n?/g, "\n")
    .replace(ESCAPES, "")
    .replace(CONTROLS, "")
    .replace(SECRETS, (_, prefix: string) => `${prefix}[redacted]`);
  if (truncated) output = output.slice(output.indexOf("\n") + 1);
  return { output, truncated, running: logs.running, exitCode: logs.exitCode, command: logs.command, workspaceStatus: logs.workspaceStatus };
}
