import type { ExecResult } from "./provider";
import { OutputCap } from "./output-cap";
import { spawnGroup, type GroupProcess, type LaunchSpec } from "./process-group";

/** The bounds of one run: how long, how much output, and what cancels it. */
export interface RunLimits {
  timeoutMs: number;
  maxOutputBytes: number;
  signal?: AbortSignal;
  /** Between SIGTERM and SIGKILL. */
  graceMs: number;
}

/**
 * Runs `spec` to completion in its own process group: killed as a whole on timeout or abort, output
 * captured combined and per stream, each capped to `maxOutputBytes` (head and tail kept). `onStart` sees
 * the running group (so its owner can kill it early); a command that cannot start throws.
 */
export async function runCommand(
  spec: LaunchSpec,
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

  const group = spawnGroup(
    spec,
    (stream, chunk) => {
      output.push(chunk);
      streams[stream].push(chunk);
    },
    limits.graceMs,
  );
  onStart(group);
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
