import type { TestClient } from "./http";

/** One Server-Sent Event as a client sees it. */
export interface SseEvent {
  id: number;
  event: string;
  data: Record<string, unknown>;
}

/** Reads a generation's event stream to its end (or until `stopAfter` events or `until` says), as a browser would. */
export async function readEvents(
  baseUrl: string,
  token: string,
  jobId: string,
  options: { lastEventId?: number; stopAfter?: number; until?: (event: SseEvent) => boolean } = {},
): Promise<SseEvent[]> {
  const headers: Record<string, string> = { authorization: `Bearer ${token}` };
  if (options.lastEventId !== undefined) headers["last-event-id"] = String(options.lastEventId);
  const controller = new AbortController();
  const response = await fetch(`${baseUrl}/generations/${jobId}/events`, { headers, signal: controller.signal });
  if (!response.ok || !response.body) throw new Error(`event stream answered ${response.status}: ${await response.text()}`);
  const events: SseEvent[] = [];
  const decoder = new TextDecoder();
  let buffer = "";
  try {
    for await (const chunk of response.body) {
      buffer += decoder.decode(chunk as Uint8Array, { stream: true });
      let end: number;
      while ((end = buffer.indexOf("\n\n")) !== -1) {
        const frame = buffer.slice(0, end);
        buffer = buffer.slice(end + 2);
        if (frame.startsWith(":")) continue;
        const fields = Object.fromEntries(frame.split("\n").map((line) => [line.slice(0, line.indexOf(":")), line.slice(line.indexOf(":") + 2)]));
        events.push({ id: Number(fields.id), event: fields.event!, data: JSON.parse(fields.data!) });
        if ((options.stopAfter !== undefined && events.length >= options.stopAfter) || options.until?.(events.at(-1)!)) {
          controller.abort();
          return events;
        }
      }
    }
  } catch (err) {
    if (!controller.signal.aborted) throw err;
  }
  return events;
}

/** Polls a generation until it ends; returns its final state. */
export async function waitForGeneration(api: TestClient, jobId: string, timeoutMs = 60_000): Promise<any> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const { body } = await api.call("GET", `/generations/${jobId}`);
    if (["completed", "failed", "cancelled"].includes(body.status)) return body;
    if (Date.now() > deadline) throw new Error(`generation ${jobId} still ${body.status} (${body.step}) after ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}
