/**
 * Daytona's sandbox states as the provider interface names them. Daytona reports where a sandbox is
 * (`state`) and where it is being driven (`desiredState`); they differ while a change is in progress
 * (auto-stop: `started` on its way to `stopped`), and the provider honours where it is going.
 */
import type { Sandbox } from "@daytonaio/sdk";
import { SIGNED_LINKS_LABEL } from "./daytona-previews";
import type { SandboxInfo, SandboxState } from "./provider";

/** The state of a sandbox Daytona rests in, or is driving it toward, as the provider's state. */
function restingState(state: string | undefined): SandboxState {
  switch (state) {
    case "started":
      return "running";
    case "stopped":
    case "stopping":
    case "paused":
    case "pausing":
      return "stopped";
    case "archived":
    case "archiving":
      return "archived";
    case "restoring":
      return "restoring";
    case "error":
    case "build_failed":
      return "error";
    case "destroyed":
    case "destroying":
      return "gone";
    default:
      return "creating";
  }
}

/**
 * Where a sandbox is for the provider: `running` only when it is started and meant to stay so (a sandbox
 * being auto-stopped is `stopped`); one being destroyed is `gone`; one on its way to `started` from an
 * archive is `restoring` (minutes), from anywhere else `creating`.
 */
export function stateOf(state: string | undefined, desiredState?: string): SandboxState {
  const now = restingState(state);
  if (desiredState === undefined || desiredState === state || now === "error" || now === "gone") return now;
  const target = restingState(desiredState);
  if (target === "gone" || target === "stopped" || target === "archived") return target;
  if (target === "running") return now === "archived" || now === "restoring" ? "restoring" : now === "running" ? "running" : "creating";
  return now;
}

/** How long Daytona may take to restore an archived sandbox before the provider calls it failed. */
export interface RestoreDeadline {
  timeoutMs: number;
  now: number;
}

/**
 * A Daytona sandbox as the provider knows it. A restore that has run past its deadline (counted from
 * the sandbox's last state change, so it survives a restart of Kiln) is an `error` with the reason.
 */
export function infoOf(sandbox: Sandbox, deadline: RestoreDeadline): SandboxInfo {
  const state = stateOf(sandbox.state, sandbox.desiredState);
  // The signed links' label stays inside the provider's previews (daytona-previews.ts).
  const { [SIGNED_LINKS_LABEL]: _signed, ...labels } = sandbox.labels ?? {};
  if (state === "error") return { id: sandbox.id, state, error: sandbox.errorReason || `Daytona reports the sandbox as ${sandbox.state}`, labels };
  const since = Date.parse(sandbox.updatedAt ?? "");
  if (state === "restoring" && Number.isFinite(since) && deadline.now - since > deadline.timeoutMs) {
    const minutes = Math.round(deadline.timeoutMs / 60_000);
    return { id: sandbox.id, state: "error", error: `Daytona has been restoring the archived sandbox for more than ${minutes} min (KILN_DAYTONA_RESTORE_TIMEOUT_MINUTES)`, labels };
  }
  return { id: sandbox.id, state, labels };
}
