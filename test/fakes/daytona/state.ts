import { randomBytes } from "node:crypto";
import type { SandboxProvider } from "../../../workspace/sandbox/provider";

/** The sandbox user's home directory inside a fake sandbox: the local sandbox's project directory stands for it. */
export const FAKE_HOME = "/home/daytona";

/** A command run in a session of a fake sandbox. */
export interface FakeSessionCommand {
  id: string;
  command: string;
  /** The local provider's process running an async command. */
  processId?: string;
  /** Set once a sync command ended. */
  exitCode?: number;
  output?: string;
}

/** A session of a fake sandbox. */
export interface FakeSession {
  id: string;
  commands: Map<string, FakeSessionCommand>;
}

/** One sandbox of the fake, as the control plane knows it, backed by one local sandbox. */
export interface FakeSandbox {
  id: string;
  /** The local provider's sandbox holding the files and processes. */
  localId: string;
  /** The host directory standing for {@link FAKE_HOME} (HOME of every process of the sandbox). */
  hostHome: string;
  state: string;
  errorReason: string | null;
  labels: Record<string, string>;
  public: boolean;
  env: Record<string, string>;
  target: string;
  autoStopInterval: number;
  autoArchiveInterval: number;
  createdAt: string;
  updatedAt: string;
  /** While creating/starting: GETs still answered with the transitional state. */
  pollsLeft: number;
  /** Where a transitional state ends. */
  next: { state: string; errorReason: string | null };
  /** The preview token, new at every start (as Daytona's). */
  previewToken: string;
  sessions: Map<string, FakeSession>;
}

/** The sandbox JSON the API answers with (Daytona's `Sandbox` model). */
export function sandboxJson(sandbox: FakeSandbox, toolboxProxyUrl: string): Record<string, unknown> {
  return {
    id: sandbox.id,
    organizationId: "org-fake",
    name: sandbox.id,
    snapshot: "daytonaio/sandbox:fake",
    user: "daytona",
    env: sandbox.env,
    labels: sandbox.labels,
    public: sandbox.public,
    networkBlockAll: false,
    target: sandbox.target,
    cpu: 1,
    gpu: 0,
    memory: 1,
    disk: 3,
    state: sandbox.state,
    desiredState: sandbox.state === "stopped" || sandbox.state === "archived" ? sandbox.state : "started",
    errorReason: sandbox.errorReason,
    backupState: "None",
    autoStopInterval: sandbox.autoStopInterval,
    autoArchiveInterval: sandbox.autoArchiveInterval,
    autoDeleteInterval: -1,
    createdAt: sandbox.createdAt,
    updatedAt: sandbox.updatedAt,
    toolboxProxyUrl,
  };
}

/** Moves a sandbox to `state` (and its reason). */
export function setState(sandbox: FakeSandbox, state: string, errorReason: string | null = null): void {
  sandbox.state = state;
  sandbox.errorReason = errorReason;
  sandbox.updatedAt = new Date().toISOString();
}

/** Starts a transition (`creating`, `starting`, `restoring`) that ends in `next` after `polls` GETs. */
export function beginTransition(sandbox: FakeSandbox, state: string, polls: number, next: FakeSandbox["next"]): void {
  if (polls <= 0) {
    setState(sandbox, next.state, next.errorReason);
    return;
  }
  setState(sandbox, state);
  sandbox.pollsLeft = polls;
  sandbox.next = next;
}

/** One GET of a sandbox: a transitional state counts down and ends where it was going. */
export function poll(sandbox: FakeSandbox): void {
  if (!["creating", "starting", "restoring"].includes(sandbox.state)) return;
  sandbox.pollsLeft -= 1;
  if (sandbox.pollsLeft <= 0) setState(sandbox, sandbox.next.state, sandbox.next.errorReason);
}

export function newPreviewToken(): string {
  return randomBytes(12).toString("hex");
}

/** What the server and the toolbox share. */
export interface FakeContext {
  local: SandboxProvider;
  sandboxes: Map<string, FakeSandbox>;
}
