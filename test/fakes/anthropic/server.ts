/**
 * A fake Anthropic Messages API on 127.0.0.1, for driving the real `@anthropic-ai/sdk` offline.
 *
 * ```ts
 * const fake = await startFakeAnthropic({ script: [{ content: [toolUse("run_build", {})] }, { content: [text("Done.")] }] });
 * const client = new Anthropic({ apiKey: "sk-test", baseURL: fake.baseURL });
 * // … run the agent loop …
 * expect(fake.protocolErrors).toEqual([]);
 * await fake.close();
 * ```
 *
 * Every request is recorded. A request is checked, in order, for: route (`POST /v1/messages`,
 * else 404), API key (401), JSON body and protocol rules (400, recorded in `protocolErrors`);
 * only then is the script asked for a turn. Script failures (exhausted, a script function
 * threw, a mid-stream turn for a non-streaming request) answer 500 `api_error` with
 * `x-should-retry: false` and are recorded in `scriptErrors`.
 */
import { createServer, type IncomingHttpHeaders, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import type Anthropic from "@anthropic-ai/sdk";
import { seededRandom } from "./chunking";
import { randomId } from "./message";
import { playTurn } from "./play-turn";
import { findProtocolViolation } from "./protocol-check";
import { sendApiError } from "./respond";
import { ScriptError, ScriptPlayer, type Script } from "./script";
import type { RecordedRequest, RecordedResponse } from "./types";
import { PromptCache } from "./usage";

export {
  lastToolResults,
  text,
  toolUse,
  type DropTurn,
  type ErrorTurn,
  type MidStreamErrorTurn,
  type ReplyTurn,
  type Script,
  type ScriptContext,
  type ScriptedBlock,
  type ScriptFunction,
  type ToolResultView,
  type Turn,
} from "./script";
export type * from "./types";

/** A running fake server. */
export interface FakeAnthropic {
  /** `http://127.0.0.1:<port>`, the SDK's `baseURL`. */
  readonly baseURL: string;
  /** Every request received, in order, with the response it got. */
  readonly requests: RecordedRequest[];
  /** Every rejected request's violation (invalid JSON, role order, unanswered tool_use, …). */
  readonly protocolErrors: string[];
  /** Every time the script could not answer (exhausted, threw, unplayable turn). */
  readonly scriptErrors: string[];
  /** Replaces the script and resets its position. */
  setScript(script: Script): void;
  /** Stops listening and drops open connections. */
  close(): Promise<void>;
}

/** Options of startFakeAnthropic. */
export interface FakeAnthropicOptions {
  /** Default: no turns, so every request fails as "script exhausted". */
  script?: Script;
  /** The only key accepted; by default any non-empty key is. */
  apiKey?: string;
  /** Default 0: any free port. */
  port?: number;
}

/** Starts a fake Messages API on 127.0.0.1. */
export async function startFakeAnthropic(opts: FakeAnthropicOptions = {}): Promise<FakeAnthropic> {
  const requests: RecordedRequest[] = [];
  const protocolErrors: string[] = [];
  const scriptErrors: string[] = [];
  const player = new ScriptPlayer(opts.script ?? []);
  const cache = new PromptCache();

  async function answer(request: RecordedRequest, res: ServerResponse): Promise<RecordedResponse> {
    if (request.method !== "POST" || request.path !== "/v1/messages") {
      return sendApiError(res, 404, { type: "not_found_error", message: `${request.method} ${request.path} not found` });
    }
    const authProblem = checkApiKey(request.headers, opts.apiKey);
    if (authProblem) return sendApiError(res, 401, { type: "authentication_error", message: authProblem });

    const parsed = parseJson(request.rawBody);
    request.body = parsed as Anthropic.MessageCreateParams | undefined;
    const violation = parsed === undefined ? "body: not valid JSON" : findProtocolViolation(parsed);
    if (violation) {
      protocolErrors.push(violation);
      return sendApiError(res, 400, { type: "invalid_request_error", message: violation });
    }
    const body = parsed as Anthropic.MessageCreateParams;
    try {
      const turn = await player.next(request);
      return await playTurn(turn, { res, body, cache, random: seededRandom(request.index + 1) });
    } catch (error) {
      if (!(error instanceof ScriptError)) throw error;
      scriptErrors.push(error.message);
      return sendApiError(res, 500, { type: "api_error", message: `fake Anthropic: ${error.message}` }, { "x-should-retry": "false" });
    }
  }

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const rawBody = await readBody(req);
    const request: RecordedRequest = {
      index: requests.length,
      method: req.method ?? "",
      path: new URL(req.url ?? "/", "http://fake").pathname,
      headers: flattenHeaders(req.headers),
      rawBody,
      body: undefined,
    };
    requests.push(request);
    res.setHeader("request-id", randomId("req_"));
    request.response = await answer(request, res);
  }

  const server = createServer((req, res) => {
    handle(req, res).catch((error: unknown) => {
      console.error("fake Anthropic server failed:", error);
      res.destroy();
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(opts.port ?? 0, "127.0.0.1", resolve);
  });
  const { port } = server.address() as AddressInfo;

  return {
    baseURL: `http://127.0.0.1:${port}`,
    requests,
    protocolErrors,
    scriptErrors,
    setScript: (script) => player.replace(script),
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.close((error) => (error ? reject(error) : resolve()));
        server.closeAllConnections();
      }),
  };
}

/** Why the request's key is refused (Bearer or x-api-key; `expected` undefined accepts any non-empty key). */
function checkApiKey(headers: Record<string, string>, expected: string | undefined): string | undefined {
  const key = /^Bearer\s+(.+)$/i.exec(headers.authorization ?? "")?.[1] ?? headers["x-api-key"];
  if (!key) return "missing API key: send `x-api-key: <key>` or `Authorization: Bearer <key>`";
  if (expected !== undefined && key !== expected) return "invalid x-api-key";
}

async function readBody(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString("utf8");
}

function flattenHeaders(headers: IncomingHttpHeaders): Record<string, string> {
  return Object.fromEntries(
    Object.entries(headers).map(([name, value]) => [name, Array.isArray(value) ? value.join(", ") : (value ?? "")]),
  );
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return undefined;
  }
}
