/** The outcome of probing a preview over HTTP. */
export type ProbeResult = { ok: true; status: number } | { ok: false; problem: string };

/** The most of a body the probe reads: enough to recognise a proxy's own page, never a whole stream. */
const MAX_BODY_BYTES = 64 * 1024;
/** `source` of the error envelopes Daytona's proxy, runner and daemon answer with. */
const DAYTONA_SOURCES = new Set(["DAYTONA_PROXY", "DAYTONA_RUNNER", "DAYTONA_DAEMON"]);
/** The pause between attempts during the first {@link FAST_PROBING_MS} (a template's Vite answers 0.5 to 1.5 s after it starts). */
const FIRST_PAUSE_MS = 25;
const FAST_PROBING_MS = 3000;
/** The longest pause between attempts, after that. */
const MAX_PAUSE_MS = 500;
/** Statuses of Daytona's own pages that waiting cannot fix: a refused or stale link, a sandbox not there or not running. */
const FINAL_STATUSES = new Set([400, 401, 403, 404]);

/** At most {@link MAX_BODY_BYTES} of the body (the app is untrusted: it may stream forever). */
async function bodyStart(response: Response): Promise<string> {
  const reader = response.body?.getReader();
  if (!reader) return "";
  const chunks: Uint8Array[] = [];
  let size = 0;
  try {
    while (size < MAX_BODY_BYTES) {
      const { done, value } = await reader.read();
      if (done) break;
      chunks.push(value);
      size += value.length;
    }
  } finally {
    await reader.cancel().catch(() => undefined);
  }
  return Buffer.concat(chunks).subarray(0, MAX_BODY_BYTES).toString("utf8");
}

/**
 * Whether an answer came from Daytona's preview proxy rather than the app: its JSON error envelope, its
 * warning page, or a redirect to another host (its login page); `final` when waiting cannot change it.
 */
function proxyPage(url: string, response: Response, body: string): { problem: string; final: boolean } | undefined {
  if (response.status >= 300 && response.status < 400) {
    const location = response.headers.get("location");
    const target = location ? new URL(location, url) : undefined;
    if (target && target.origin !== new URL(url).origin) return { problem: `the preview link redirects to ${target.origin} (a login page: the link is not authorised)`, final: true };
    return undefined;
  }
  if (/<title>\s*Daytona Preview - Warning\s*<\/title>/i.test(body)) return { problem: "Daytona's preview warning page answered instead of the app", final: true };
  if (!(response.headers.get("content-type") ?? "").includes("json")) return undefined;
  let envelope: { source?: unknown; code?: unknown; message?: unknown };
  try {
    envelope = JSON.parse(body) as typeof envelope;
  } catch {
    return undefined;
  }
  if (typeof envelope?.source !== "string" || !DAYTONA_SOURCES.has(envelope.source)) return undefined;
  const what = [envelope.code, envelope.message].filter((part) => typeof part === "string").join(": ").slice(0, 300);
  return { problem: `Daytona's preview proxy answered HTTP ${response.status} (${what})`, final: FINAL_STATUSES.has(response.status) };
}

/**
 * Asks `link.url` over HTTP until the app answers with anything below 500, for up to `timeoutMs`: every
 * {@link FIRST_PAUSE_MS} while a dev server usually comes up, then less and less often. A proxy's own
 * page (Daytona's 401, 400 or warning page, a redirect to a login) is not the app: a final one ends the
 * probe at once with what it said. Sends
 * `X-Daytona-Skip-Preview-Warning` (public Daytona previews show browsers a warning page otherwise);
 * follows no redirect. Stops early when `stillRunning` says the server exited.
 */
export async function probeHttp(link: { url: string }, options: { timeoutMs: number; stillRunning?: () => Promise<boolean> }): Promise<ProbeResult> {
  const deadline = Date.now() + options.timeoutMs;
  const headers = { "x-daytona-skip-preview-warning": "true" };
  const started = Date.now();
  let pause = FIRST_PAUSE_MS;
  let lastProblem = "no answer yet";
  for (;;) {
    try {
      const response = await fetch(link.url, { headers, redirect: "manual", signal: AbortSignal.timeout(Math.max(100, Math.min(5000, deadline - Date.now()))) });
      const page = proxyPage(link.url, response, await bodyStart(response));
      if (page?.final) return { ok: false, problem: page.problem };
      if (page) lastProblem = page.problem;
      else if (response.status < 500) return { ok: true, status: response.status };
      else lastProblem = `it answered HTTP ${response.status}`;
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
    if (Date.now() - started >= FAST_PROBING_MS) pause = Math.min(MAX_PAUSE_MS, Math.round(pause * 1.5));
  }
}
