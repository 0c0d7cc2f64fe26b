import type { ExecResult } from "./provider";
import { OutputCap } from "./output-cap";
import type { GroupProcess } from "./toolbox-client";

/** Starts a command with its output going to `onOutput`; rejects when it cannot start (a bad working directory). */
export type CommandStarter = (onOutput: (stream: "stdout" | "stderr", chunk: Buffer) => void) => Promise<GroupProcess>;

/** The bounds of one run: how long, how much output, and what cancels it. */
export interface RunLimits {
  timeoutMs: number;
  maxOutputBytes: number;
  signal?: AbortSignal;
}

/**
 * Runs a command to completion: killed with everything it started on timeout or abort, output captured
 * combined and per stream, each capped to `maxOutputBytes` (head and tail kept). `onStart` sees the
 * running command (so its owner can kill it early); a command that cannot start throws.
 */
export async function runCommand(
  start: CommandStarter,
  limits: RunLimits,
  onStart: (group: GroupProcess) => void = () => {},
): Promise<ExecResult> {
  const started = performance.now();
  const output = OutputCap.even(limits.maxOutputBytes);
  const streams = { stdout: OutputCap.even(limits.maxOutputBytes), stderr: OutputCap.even(limits.maxOutputBytes) };
  let timedOut = false;
  let cancelled = limits.signal?.aborted ?? false;
  const result = (exitCode: number | null): ExecResult => ({
    exitCode,
    output: output.toString(),
    stdout: streams.stdout.toString(),
    stderr: streams.stderr.toString(),
    timedOut,
    cancelled,
    droppedBytes: output.droppedBytes,
    durationMs: Math.round(performance.now() - started),
  });
  if (cancelled) return result(null);

  const group = await start((stream, chunk) => {
    output.push(chunk);
    streams[stream].push(chunk);
  });
  onStart(group);
  if (limits.signal?.aborted) cancelled = true;
  if (cancelled) void group.terminate();
  const timer = setTimeout(() => {
    timedOut = true;
    void group.terminate();
  }, limits.timeoutMs);
  const onAbort = () => {
    cancelled = true;
    void group.terminate();
  };
  limits.signal?.addEventListener("abort", onAbort, { once: true });
  try {
    const exit = await group.finished;
    if (exit.spawnError) throw exit.spawnError;
    return result(exit.exitCode);
  } finally {
    clearTimeout(timer);
    limits.signal?.removeEventListener("abort", onAbort);
  }
}
