/** The outcome of probing a preview over HTTP. */
export type ProbeResult = { ok: true; status: number } | { ok: false; problem: string };

/**
 * Asks `link.url` over HTTP until anything below 500 answers, for up to `timeoutMs` (no fixed sleep:
 * short growing pauses between attempts). Stops early when `stillRunning` says the server exited.
 */
export async function probeHttp(
  link: { url: string; token?: string },
  options: { timeoutMs: number; stillRunning?: () => Promise<boolean> },
): Promise<ProbeResult> {
  const deadline = Date.now() + options.timeoutMs;
  const headers: Record<string, string> = link.token ? { "x-daytona-preview-token": link.token } : {};
  let pause = 50;
  let lastProblem = "no answer yet";
  for (;;) {
    try {
      const response = await fetch(link.url, { headers, signal: AbortSignal.timeout(Math.max(100, Math.min(5000, deadline - Date.now()))) });
      await response.arrayBuffer();
      if (response.status < 500) return { ok: true, status: response.status };
      lastProblem = `it answered HTTP ${response.status}`;
    } catch (err) {
      lastProblem = err instanceof Error ? ((err.cause as Error | undefined)?.message ?? err.message) : String(err);
    }
    if (options.stillRunning && !(await options.stillRunning().catch(() => true))) {
      return { ok: false, problem: `the dev server exited before answering (${lastProblem})` };
    }
    if (Date.now() + pause > deadline) {
      return { ok: false, problem: `nothing answered at ${link.url} within ${Math.round(options.timeoutMs / 1000)} s (last: ${lastProblem})` };
    }
    await new Promise((resolve) => setTimeout(resolve, pause));
    pause = Math.min(500, Math.round(pause * 1.5));
  }
}
