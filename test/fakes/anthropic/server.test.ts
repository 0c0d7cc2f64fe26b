import Anthropic, {
  AnthropicError,
  APIConnectionError,
  APIError,
  APIUserAbortError,
  AuthenticationError,
  BadRequestError,
  InternalServerError,
  OverloadedError,
  type ClientOptions,
} from "@anthropic-ai/sdk";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { lastToolResults, startFakeAnthropic, text, toolUse, type FakeAnthropic } from "./server";

const MODEL = "claude-sonnet-4-6";
const WRITE_FILE: Anthropic.Tool = {
  name: "write_file",
  description: "Writes a file",
  input_schema: { type: "object", properties: { path: { type: "string" }, content: { type: "string" } } },
};
const RUN_BUILD: Anthropic.Tool = { name: "run_build", description: "Runs the build", input_schema: { type: "object" } };

let fake: FakeAnthropic;
beforeEach(async () => {
  fake = await startFakeAnthropic();
});
afterEach(async () => {
  await fake.close();
});

function client(options: ClientOptions = {}): Anthropic {
  return new Anthropic({ apiKey: "sk-test", baseURL: fake.baseURL, maxRetries: 0, ...options });
}

function ask(content = "Hello"): Anthropic.MessageCreateParamsNonStreaming {
  return { model: MODEL, max_tokens: 1024, messages: [{ role: "user", content }] };
}

function retryCounts(): string[] {
  return fake.requests.map((request) => request.headers["x-stainless-retry-count"] ?? "");
}

/** The rejection of `promise` (fails the test if it resolves). */
async function rejectionOf(promise: Promise<unknown>): Promise<unknown> {
  return promise.then(
    (value) => expect.fail(`expected a rejection, got ${JSON.stringify(value)}`),
    (error: unknown) => error,
  );
}

describe("answers through the real SDK", () => {
  it("streams a text turn in several text deltas", async () => {
    const reply = "Hello there! This reply is streamed in pieces — ünïcödé ✓ 🎉 included.";
    fake.setScript([{ content: [text(reply)] }]);
    const stream = client().messages.stream(ask());
    const deltas: string[] = [];
    stream.on("text", (delta) => deltas.push(delta));

    const message = await stream.finalMessage();

    expect(deltas.length).toBeGreaterThan(3);
    expect(deltas.join("")).toBe(reply);
    expect(message).toMatchObject({ role: "assistant", model: MODEL, stop_reason: "end_turn", content: [{ type: "text", text: reply }] });
    expect(message.usage.input_tokens).toBeGreaterThan(0);
    expect(message.usage.output_tokens).toBeGreaterThan(1);
    const [request] = fake.requests;
    expect(request?.headers).toMatchObject({ authorization: "Bearer sk-test", "x-stainless-helper-method": "stream" });
    expect(request?.body).toMatchObject({ stream: true, model: MODEL });
    expect(request?.response).toMatchObject({ kind: "message", streamed: true, completed: true });
    expect(fake.protocolErrors).toEqual([]);
  });

  it("streams tool_use input intact through awkward input_json_delta splits", async () => {
    const input = {
      path: "src/App.tsx",
      content: 'export const greeting = "say \\"hi\\"";\nconsole.log(`naïve café — 日本語 🎉`);\n\t// back\\slash\n',
      nested: { 'key "quoted"': ["\u0001control", null, true, 3.5], empty: {}, "ünïcödé-key": "✓" },
    };
    fake.setScript([{ content: [text("Writing it."), toolUse("write_file", input)] }]);
    const stream = client().messages.stream({ ...ask(), tools: [WRITE_FILE] });
    const jsonDeltas: string[] = [];
    stream.on("inputJson", (partial) => jsonDeltas.push(partial));

    const message = await stream.finalMessage();

    const block = message.content[1];
    expect(block).toMatchObject({ type: "tool_use", name: "write_file", id: expect.stringMatching(/^toolu_[A-Za-z0-9]{24}$/) });
    expect(block?.type === "tool_use" && block.input).toEqual(input);
    expect(message.stop_reason).toBe("tool_use");
    expect(jsonDeltas[0]).toBe("");
    expect(jsonDeltas.some((piece) => piece.endsWith("\\"))).toBe(true);
    expect(jsonDeltas.join("")).toBe(JSON.stringify(input));
  });

  it("answers a non-streaming create with the JSON message", async () => {
    const input = { path: "a.ts", content: "x" };
    fake.setScript([{ content: [text("Plain JSON."), toolUse("write_file", input, "toolu_fixed")], usage: { output_tokens: 42 } }]);

    const message = await client().messages.create({ ...ask(), tools: [WRITE_FILE] });

    expect(message).toMatchObject({
      type: "message",
      model: MODEL,
      stop_reason: "tool_use",
      content: [{ type: "text", text: "Plain JSON." }, { type: "tool_use", id: "toolu_fixed", name: "write_file", input }],
      usage: { output_tokens: 42 },
    });
    expect(message._request_id).toMatch(/^req_/);
    expect(fake.requests[0]?.body).not.toHaveProperty("stream");
    expect(fake.requests[0]?.response).toMatchObject({ kind: "message", streamed: false });
  });

  it("lets a function script react to the last tool_result", async () => {
    const seenCalls: number[] = [];
    fake.setScript(async (request, { callIndex }) => {
      seenCalls.push(callIndex);
      const [result] = lastToolResults(request);
      if (result === undefined || result.text === "written") return { content: [text("Building."), toolUse("run_build", {})] };
      if (result.isError && result.text.includes("TS2322")) {
        return { content: [toolUse("write_file", { path: "src/n.ts", content: "export const n: number = 1;\n" })] };
      }
      return { content: [text(result.isError ? "Still broken." : "Build is green.")] };
    });
    let fixed = false;
    const runTool = (block: Anthropic.ToolUseBlock): Anthropic.ToolResultBlockParam => {
      if (block.name === "write_file") fixed = true;
      const failed = block.name === "run_build" && !fixed;
      const output =
        block.name === "write_file" ? "written" : failed ? "src/n.ts(1,14): error TS2322: Type 'string' is not assignable to type 'number'." : "build ok";
      return { type: "tool_result", tool_use_id: block.id, content: [{ type: "text", text: output }], is_error: failed };
    };

    const messages: Anthropic.MessageParam[] = [{ role: "user", content: "Make the build pass" }];
    const toolsCalled: string[] = [];
    let last: Anthropic.Message;
    do {
      last = await client().messages.stream({ ...ask(), tools: [RUN_BUILD, WRITE_FILE], messages }).finalMessage();
      messages.push({ role: "assistant", content: last.content });
      const toolUses = last.content.filter((block): block is Anthropic.ToolUseBlock => block.type === "tool_use");
      toolsCalled.push(...toolUses.map((block) => block.name));
      if (toolUses.length > 0) messages.push({ role: "user", content: toolUses.map(runTool) });
    } while (last.stop_reason === "tool_use");

    expect(toolsCalled).toEqual(["run_build", "write_file", "run_build"]);
    expect(last.content).toEqual([expect.objectContaining({ type: "text", text: "Build is green." })]);
    expect(seenCalls).toEqual([0, 1, 2, 3]);
    expect(lastToolResults(fake.requests[1]!)).toEqual([
      { toolUseId: expect.stringMatching(/^toolu_/), text: expect.stringContaining("TS2322"), isError: true },
    ]);
    expect(fake.protocolErrors).toEqual([]);
  });

  it("shows cache_control in the recorded body and reports cache reads for a shared prefix", async () => {
    fake.setScript([{ content: [text("First.")] }, { content: [text("Second.")] }]);
    const system: Anthropic.TextBlockParam[] = [
      { type: "text", text: "You are a careful coding agent. ".repeat(40), cache_control: { type: "ephemeral" } },
    ];
    const base = { model: MODEL, max_tokens: 1024, system, tools: [WRITE_FILE] };

    const first = await client().messages.create({
      ...base,
      messages: [{ role: "user", content: [{ type: "text", text: "Start", cache_control: { type: "ephemeral" } }] }],
    });
    const second = await client().messages.create({
      ...base,
      messages: [
        { role: "user", content: [{ type: "text", text: "Start" }] },
        { role: "assistant", content: "First." },
        { role: "user", content: [{ type: "text", text: "Continue", cache_control: { type: "ephemeral" } }] },
      ],
    });

    expect(fake.requests[0]?.body?.system).toEqual(system);
    expect(fake.requests[1]?.body?.messages[2]).toMatchObject({ content: [{ cache_control: { type: "ephemeral" } }] });
    expect(first.usage.cache_read_input_tokens).toBe(0);
    expect(first.usage.cache_creation_input_tokens).toBeGreaterThan(100);
    expect(second.usage.cache_read_input_tokens).toBe(first.usage.cache_creation_input_tokens);
    expect(second.usage.cache_creation_input_tokens).toBeGreaterThan(0);
  });
});

describe("the wire format", () => {
  it("sends SSE frames that each carry an event: line, in writes cut at arbitrary bytes", async () => {
    const input = { path: "a.ts", content: 'say "hi"\n' };
    fake.setScript([{ content: [text("Two blocks — ✓."), toolUse("write_file", input)], stop_reason: "max_tokens" }]);
    const response = await fetch(`${fake.baseURL}/v1/messages`, {
      method: "POST",
      headers: { "x-api-key": "sk-test", "content-type": "application/json" },
      body: JSON.stringify({ ...ask(), tools: [WRITE_FILE], stream: true }),
    });
    const chunks: Buffer[] = [];
    for await (const chunk of response.body!) chunks.push(Buffer.from(chunk));

    expect(response.headers.get("content-type")).toMatch(/^text\/event-stream/);
    expect(response.headers.get("request-id")).toMatch(/^req_/);
    expect(chunks.length).toBeGreaterThan(3);
    expect(chunks.some((chunk) => !chunk.toString("latin1").endsWith("\n\n"))).toBe(true);
    const frames = Buffer.concat(chunks).toString("utf8").split("\n\n").filter(Boolean);
    const events = frames.map((frame) => {
      const match = /^event: (\w+)\ndata: (.+)$/.exec(frame);
      expect(match, frame).not.toBeNull();
      const data = JSON.parse(match![2]!) as { type: string; delta?: { partial_json?: string; stop_reason?: string } };
      expect(data.type).toBe(match![1]);
      return data;
    });
    const types = events.map((event) => event.type);
    expect(types.slice(0, 3)).toEqual(["message_start", "ping", "content_block_start"]);
    expect(types.slice(-2)).toEqual(["message_delta", "message_stop"]);
    expect(types.filter((type) => type === "content_block_stop")).toHaveLength(2);
    expect(events.at(-2)?.delta?.stop_reason).toBe("max_tokens");
    const jsonPieces = events.flatMap((event) => (event.delta?.partial_json === undefined ? [] : [event.delta.partial_json]));
    const json = JSON.stringify(input);
    const cutOffsets = jsonPieces.map((_, k) => jsonPieces.slice(0, k + 1).join("").length);
    expect(jsonPieces[0]).toBe("");
    expect(cutOffsets).toContain(json.indexOf('"path"') + 3); // inside a key: {"pa|th"
    expect(cutOffsets).toContain(json.indexOf('\\"hi') + 1); // inside an escape sequence: \|"
    expect(jsonPieces.join("")).toBe(json);
  });
});

describe("errors and retries", () => {
  it("lets the SDK retry a 429 and a 529 after retry-after-ms, then succeed", async () => {
    fake.setScript([
      { error: { status: 429, type: "rate_limit_error", message: "Slow down", retryAfterMs: 5 } },
      { error: { status: 529, type: "overloaded_error", message: "Overloaded", retryAfterMs: 5 } },
      { content: [text("Finally.")] },
    ]);
    const started = performance.now();

    const message = await client({ maxRetries: 2 }).messages.stream(ask()).finalMessage();

    expect(performance.now() - started).toBeLessThan(500); // the SDK's default backoff would take over a second
    expect(message.content).toEqual([expect.objectContaining({ text: "Finally." })]);
    expect(retryCounts()).toEqual(["0", "1", "2"]);
    expect(fake.requests.map((request) => request.response)).toMatchObject([
      { kind: "error", status: 429, error: { type: "rate_limit_error" } },
      { kind: "error", status: 529, error: { type: "overloaded_error" } },
      { kind: "message", status: 200 },
    ]);
  });

  it("surfaces the last error as the SDK's error class when retries run out", async () => {
    const overloaded = { error: { status: 529, type: "overloaded_error", message: "Overloaded", retryAfterMs: 1 } };
    fake.setScript([overloaded, overloaded, { content: [text("never reached")] }]);

    const error = await rejectionOf(client({ maxRetries: 1 }).messages.create(ask()));

    expect(error).toBeInstanceOf(OverloadedError);
    expect(error).toMatchObject({ status: 529, type: "overloaded_error", apiMessage: "Overloaded", requestID: expect.stringMatching(/^req_/) });
    expect(retryCounts()).toEqual(["0", "1"]);
  });

  it("sends x-should-retry: false so the SDK does not retry a 500", async () => {
    fake.setScript([{ error: { status: 500, type: "api_error", message: "Boom", shouldRetry: false } }, { content: [text("unused")] }]);

    const error = await rejectionOf(client({ maxRetries: 2 }).messages.create(ask()));

    expect(error).toBeInstanceOf(InternalServerError);
    expect(fake.requests).toHaveLength(1);
  });

  it("surfaces a mid-stream error event as an APIError, without retrying", async () => {
    fake.setScript([
      { midStreamError: { type: "overloaded_error", message: "Overloaded" }, afterText: "Partial answer" },
      { content: [text("unused")] },
    ]);
    const stream = client({ maxRetries: 2 }).messages.stream(ask());
    const deltas: string[] = [];
    stream.on("text", (delta) => deltas.push(delta));

    const error = await rejectionOf(stream.finalMessage());

    expect(error).toBeInstanceOf(APIError);
    expect(error).toMatchObject({ status: undefined, type: "overloaded_error" });
    expect(deltas.join("")).toBe("Partial answer");
    expect(fake.requests).toHaveLength(1);
    expect(fake.requests[0]?.response).toMatchObject({ kind: "mid-stream-error", error: { type: "overloaded_error" } });
  });

  it("surfaces a dropped connection as APIConnectionError when retries are off", async () => {
    fake.setScript([{ dropConnection: "before-response" }, { content: [text("unused")] }]);

    const error = await rejectionOf(client({ maxRetries: 0 }).messages.create(ask()));

    expect(error).toBeInstanceOf(APIConnectionError);
    expect(fake.requests.map((request) => request.response)).toEqual([{ kind: "dropped", when: "before-response" }]);
  });

  it("lets the SDK retry a dropped connection to success", async () => {
    fake.setScript([{ dropConnection: "before-response" }, { content: [text("Recovered.")] }]);

    const message = await client({ maxRetries: 2 }).messages.stream(ask()).finalMessage();

    expect(message.content).toEqual([expect.objectContaining({ text: "Recovered." })]);
    expect(retryCounts()).toEqual(["0", "1"]);
  });

  it("fails the stream when the connection drops mid-stream, without retrying", async () => {
    fake.setScript([{ dropConnection: "mid-stream", afterText: "Half an ans" }, { content: [text("unused")] }]);
    const stream = client({ maxRetries: 2 }).messages.stream(ask());
    const deltas: string[] = [];
    stream.on("text", (delta) => deltas.push(delta));

    const error = await rejectionOf(stream.finalMessage());

    expect(error).toBeInstanceOf(AnthropicError);
    expect(error).not.toBeInstanceOf(APIError);
    expect(deltas.join("")).toBe("Half an ans");
    expect(fake.requests.map((request) => request.response)).toEqual([{ kind: "dropped", when: "mid-stream" }]);
  });

  it("lets the client's AbortSignal stop a slow stream promptly", async () => {
    fake.setScript([{ content: [text("slow words ".repeat(100))], chunkDelayMs: 5 }]); // about 3 s if not aborted
    const controller = new AbortController();
    const stream = client().messages.stream(ask(), { signal: controller.signal });
    let abortedAt = 0;
    stream.on("text", () => {
      if (abortedAt === 0) {
        abortedAt = performance.now();
        controller.abort();
      }
    });

    const error = await rejectionOf(stream.finalMessage());

    expect(error).toBeInstanceOf(APIUserAbortError);
    expect(performance.now() - abortedAt).toBeLessThan(200);
    await vi.waitFor(() => expect(fake.requests[0]?.response).toMatchObject({ kind: "message", completed: false }), { timeout: 500 });
  });
});

describe("protocol and auth checks", () => {
  const toolUseTurn: Anthropic.MessageParam = {
    role: "assistant",
    content: [{ type: "tool_use", id: "toolu_abc", name: "run_build", input: {} }],
  };

  it("rejects a tool_use not followed by its tool_result, and accepts the corrected request", async () => {
    fake.setScript([{ content: [text("Build passed.")] }]);
    const expected = "messages.1: tool_use ids were found without tool_result blocks immediately after: toolu_abc";

    const error = await rejectionOf(
      client().messages.create({
        ...ask(),
        tools: [RUN_BUILD],
        messages: [{ role: "user", content: "Build it" }, toolUseTurn, { role: "user", content: "What happened?" }],
      }),
    );
    const message = await client().messages.create({
      ...ask(),
      tools: [RUN_BUILD],
      messages: [
        { role: "user", content: "Build it" },
        toolUseTurn,
        { role: "user", content: [{ type: "tool_result", tool_use_id: "toolu_abc", content: "ok" }] },
      ],
    });

    expect(error).toBeInstanceOf(BadRequestError);
    expect(error).toMatchObject({ status: 400, type: "invalid_request_error", apiMessage: expect.stringContaining(expected) });
    expect(fake.protocolErrors).toEqual([expect.stringContaining(expected)]);
    expect(message.content).toEqual([expect.objectContaining({ text: "Build passed." })]);
  });

  it("accepts x-api-key and Bearer, and refuses a wrong or missing key", async () => {
    const guarded = await startFakeAnthropic({ apiKey: "sk-right", script: [{ content: [text("one")] }, { content: [text("two")] }] });
    const post = (headers: Record<string, string>) =>
      fetch(`${guarded.baseURL}/v1/messages`, {
        method: "POST",
        headers: { "content-type": "application/json", ...headers },
        body: JSON.stringify(ask()),
      });
    try {
      const viaApiKey = await post({ "x-api-key": "sk-right" });
      const viaBearer = await new Anthropic({ apiKey: "sk-right", baseURL: guarded.baseURL, maxRetries: 0 }).messages.create(ask());
      const wrong = await rejectionOf(new Anthropic({ apiKey: "sk-wrong", baseURL: guarded.baseURL, maxRetries: 0 }).messages.create(ask()));
      const missing = await post({});

      expect(viaApiKey.status).toBe(200);
      expect(viaBearer.content).toEqual([expect.objectContaining({ text: "two" })]);
      expect(guarded.requests[1]?.headers.authorization).toBe("Bearer sk-right");
      expect(wrong).toBeInstanceOf(AuthenticationError);
      expect(wrong).toMatchObject({ status: 401, type: "authentication_error" });
      expect(missing.status).toBe(401);
      expect(await missing.json()).toMatchObject({ type: "error", error: { type: "authentication_error" } });
    } finally {
      await guarded.close();
    }
  });
});

describe("script failures", () => {
  it("answers a clear 500 when the script is exhausted, and setScript starts over", async () => {
    fake.setScript([{ content: [text("Only turn.")] }]);
    await client().messages.create(ask());

    const error = await rejectionOf(client({ maxRetries: 2 }).messages.create(ask()));
    fake.setScript([{ content: [text("Again.")] }]);
    const again = await client().messages.create(ask());

    expect(error).toBeInstanceOf(InternalServerError);
    expect(error).toMatchObject({ status: 500, type: "api_error", apiMessage: expect.stringContaining("script exhausted: all 1 turns were used before request 1") });
    expect(fake.requests).toHaveLength(3);
    expect(fake.scriptErrors).toEqual([expect.stringContaining("script exhausted")]);
    expect(again.content).toEqual([expect.objectContaining({ text: "Again." })]);
  });

  it("records a throwing script function and a mid-stream turn for a non-streaming request", async () => {
    fake.setScript(() => {
      throw new Error("no idea what to say");
    });
    const thrown = await rejectionOf(client().messages.create(ask()));
    fake.setScript([{ midStreamError: { type: "api_error", message: "x" } }]);
    const unplayable = await rejectionOf(client().messages.create(ask()));

    expect(thrown).toMatchObject({ status: 500, apiMessage: expect.stringContaining("no idea what to say") });
    expect(unplayable).toMatchObject({ status: 500, apiMessage: expect.stringContaining("not a streaming request") });
    expect(fake.scriptErrors).toEqual([
      "script function failed on call 0: no idea what to say",
      "turn 0 fails mid-stream, but request 1 is not a streaming request",
    ]);
  });
});
