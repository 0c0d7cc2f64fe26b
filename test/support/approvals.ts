import type { RecordedRequest, ScriptFunction, ScriptedBlock } from "../fakes/anthropic/server";
import { text } from "../fakes/anthropic/server";
import { readEvents, type SseEvent } from "./generation";
import type { TestClient } from "./http";

/** The text of a request's first message: the job's prompt (the cache breakpoint makes it blocks on the first turn). */
export function promptOf(request: RecordedRequest): string {
  const content = request.body?.messages[0]?.content;
  return typeof content === "string" ? content : ((content?.find((b) => b.type === "text") as { text: string } | undefined)?.text ?? "");
}

/**
 * A model that, for each prompt, answers its n-th request with the n-th turn of `turns[prompt]` (n: the
 * assistant turns already in the conversation, so a resumed job goes on where it was) and then ends its turn.
 */
export function scriptedTurns(turns: Record<string, ScriptedBlock[][]>): ScriptFunction {
  return (request) => {
    const done = request.body!.messages.filter((m) => m.role === "assistant").length;
    const next = turns[promptOf(request)]?.[done];
    return { content: next ?? [text("Done.")] };
  };
}

/** The tool results the model was sent for a prompt, in order, as [text, isError]. */
export function resultsSent(requests: RecordedRequest[], prompt: string): [string, boolean][] {
  const last = requests.filter((r) => promptOf(r) === prompt).at(-1);
  return (last?.body?.messages ?? []).flatMap((m) =>
    typeof m.content === "string"
      ? []
      : m.content.flatMap((b): [string, boolean][] => (b.type === "tool_result" ? [[typeof b.content === "string" ? b.content : JSON.stringify(b.content), b.is_error === true]] : [])),
  );
}

/** Creates a project in `mode` and starts a generation on it. */
export async function startInMode(api: TestClient, mode: string, prompt: string): Promise<{ projectId: string; jobId: string }> {
  const projectId = (await api.call("POST", "/projects", { name: prompt.slice(0, 50) })).body.id as string;
  const patched = await api.call("PATCH", `/projects/${projectId}`, { approvalMode: mode });
  if (patched.status !== 200) throw new Error(`setting the approval mode answered ${patched.status}: ${patched.text}`);
  const job = await api.call("POST", "/generations", { projectId, prompt });
  return { projectId, jobId: job.body.id as string };
}

/** Reads a generation's events until its `count`-th approval_requested; returns that event. */
export async function nthApprovalRequest(baseUrl: string, token: string, jobId: string, count = 1): Promise<SseEvent> {
  let seen = 0;
  const events = await readEvents(baseUrl, token, jobId, { until: (e) => e.event === "approval_requested" && ++seen === count });
  const event = events.at(-1)!;
  if (event.event !== "approval_requested") throw new Error(`the stream of ${jobId} ended without approval request ${count}: ${events.map((e) => e.event).join(", ")}`);
  return event;
}
