import { randomBytes } from "node:crypto";
import type { SandboxProvider } from "../../../workspace/sandbox/provider";
import type { FakeImage } from "./image";
import type { FakeRealism } from "./realism";
import type { FakeSnapshots } from "./snapshots";

/** A command run in a session of a fake sandbox. */
export interface FakeSessionCommand {
  id: string;
  command: string;
  /** The local provider's process running an async command. */
  processId?: string;
  /** Set once a sync command ended. */
  exitCode?: number;
  /** A sync command's marked output. */
  output?: string;
}

/** A session of a fake sandbox. */
export interface FakeSession {
  id: string;
  commands: Map<string, FakeSessionCommand>;
}

/** One step of a state change: the sandbox shows `state`/`desiredState` for `polls` GETs, then moves on. */
export interface FakeStep {
  state: string;
  desiredState: string;
  polls: number;
  errorReason?: string | null;
  /** Runs when the step begins (processes die when a sandbox reaches `stopped`, ...). */
  enter?: () => Promise<void>;
  /** Set once the step has begun. */
  entered?: boolean;
}

/** One sandbox of the fake, as the control plane knows it, backed by one local sandbox. */
export interface FakeSandbox {
  id: string;
  /** The local provider's sandbox holding the files and processes. */
  localId: string;
  /** The host directory of the local sandbox: the sandbox's file system, every path of the API below it. */
  hostRoot: string;
  /** The sandbox user's home, an absolute host path below {@link hostRoot} (`home/<user>`, or `root` for root). */
  home: string;
  image: FakeImage;
  snapshot: string;
  state: string;
  desiredState: string;
  errorReason: string | null;
  labels: Record<string, string>;
  public: boolean;
  env: Record<string, string>;
  target: string;
  autoStopInterval: number;
  autoArchiveInterval: number;
  createdAt: string;
  updatedAt: string;
  /** The state change in progress, first step first; empty when the sandbox rests in `state`. */
  steps: FakeStep[];
  /** The standard preview token (also good for the toolbox), new at every start. */
  previewToken: string;
  /** Date.now() of the last preview or toolbox request, start, or refreshed activity. */
  lastActivity: number;
  sessions: Map<string, FakeSession>;
  /** Set while the change in progress is auto-stop's (it advances with time, not with GETs). */
  autoStopping?: boolean;
  /** The daemon version the sandbox reports (0.218.0 by default, which has PTY sessions). */
  daemonVersion?: string;
}

/** States in which Daytona refuses another state change (409). */
const CHANGING = new Set(["creating", "starting", "stopping", "restoring", "destroying", "archiving", "pending_build", "pulling_snapshot"]);

/** Whether a state change is in progress: a transitional state, or a desired state the sandbox has not reached. */
export function changing(sandbox: FakeSandbox): boolean {
  return CHANGING.has(sandbox.state) || sandbox.desiredState !== sandbox.state;
}

/** The sandbox JSON the API answers with (Daytona's `Sandbox` model). */
export function sandboxJson(sandbox: FakeSandbox, toolboxProxyUrl: string): Record<string, unknown> {
  return {
    id: sandbox.id,
    organizationId: "org-fake",
    name: sandbox.id,
    snapshot: sandbox.snapshot,
    user: sandbox.image.user,
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
    desiredState: sandbox.desiredState,
    errorReason: sandbox.errorReason,
    backupState: "None",
    autoStopInterval: sandbox.autoStopInterval,
    autoArchiveInterval: sandbox.autoArchiveInterval,
    autoDeleteInterval: -1,
    createdAt: sandbox.createdAt,
    updatedAt: sandbox.updatedAt,
    toolboxProxyUrl,
    daemonVersion: sandbox.daemonVersion ?? "0.218.0",
  };
}

/** Moves a sandbox to a resting `state` (its desired state too) with its reason, ending any change in progress. */
export function setState(sandbox: FakeSandbox, state: string, errorReason: string | null = null): void {
  sandbox.steps = [];
  apply(sandbox, { state, desiredState: state, polls: 0, errorReason });
}

function apply(sandbox: FakeSandbox, step: FakeStep): void {
  sandbox.state = step.state;
  sandbox.desiredState = step.desiredState;
  sandbox.errorReason = step.errorReason ?? null;
  sandbox.updatedAt = new Date().toISOString();
}

/**
 * Starts a state change: the first step shows at once, each later one after the GETs of the one before;
 * the last step is where the sandbox rests. Steps with no polls are passed through at once.
 */
export async function schedule(sandbox: FakeSandbox, steps: FakeStep[]): Promise<void> {
  sandbox.steps = steps.map((step) => ({ ...step }));
  await advance(sandbox);
}

async function advance(sandbox: FakeSandbox): Promise<void> {
  while (sandbox.steps.length > 0) {
    const step = sandbox.steps[0]!;
    if (!step.entered) {
      step.entered = true;
      apply(sandbox, step);
      await step.enter?.();
    }
    if (step.polls > 0 && sandbox.steps.length > 1) return;
    sandbox.steps.shift();
  }
}

/** One GET of a sandbox: the change in progress counts it, and moves on when its step is done. */
export async function poll(sandbox: FakeSandbox): Promise<void> {
  const step = sandbox.steps[0];
  if (!step) return;
  step.polls -= 1;
  if (step.polls <= 0) {
    sandbox.steps.shift();
    await advance(sandbox);
  }
}

/** A new standard preview token. */
export function newPreviewToken(): string {
  return randomBytes(16).toString("hex");
}

/** A signed preview URL the fake issued: bound to one port, valid until it expires or is revoked. */
export interface SignedPreview {
  token: string;
  sandboxId: string;
  port: number;
  expiresAt: number;
}

/** What the server, the toolbox and the proxy share. */
export interface FakeContext {
  local: SandboxProvider;
  sandboxes: Map<string, FakeSandbox>;
  signed: Map<string, SignedPreview>;
  realism: FakeRealism;
  /** Shims that make GNU tools refuse GNU-only options, for images without them. */
  busyboxShims?: string;
  /** The snapshots sandboxes may be created from (set once the server runs). */
  snapshots?: FakeSnapshots;
}
