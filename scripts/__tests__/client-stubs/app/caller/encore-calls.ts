/**
 * Calls through the generated clients, compiled by scripts/gen-encore-clients.test.ts. Each
 * `@ts-expect-error` must be used: with a stub that leaves `authData` out of CallOpts, the wrong calls
 * type-check, the directives go unused and the compile fails.
 */
import type { IncomingMessage, ServerResponse } from "node:http";
import { greeter } from "~encore/clients";
import { getAuthData } from "~encore/auth";

declare const req: IncomingMessage;
declare const res: ServerResponse;

export async function rightCalls(): Promise<string> {
  const { message } = await greeter.hello({ name: "a" });
  await greeter.hello({ name: "a" }, { authData: { userID: "u1", plan: "pro" } });
  await greeter.hello({ name: "a" }, { authData: getAuthData() });
  greeter.feed(req, res, { authData: { userID: "u1", plan: "free" } });
  await greeter.ref().hello({ name: "b" });
  return message;
}

export async function wrongCalls(): Promise<void> {
  // @ts-expect-error authData must be the auth handler's data, not any object
  await greeter.hello({ name: "a" }, { authData: { wrong: 1 } });
  // @ts-expect-error authData lacks userID
  await greeter.hello({ name: "a" }, { authData: { plan: "pro" } });
  // @ts-expect-error a raw endpoint's CallOpts are the same
  greeter.feed(req, res, { authData: { wrong: 1 } });
  // @ts-expect-error a raw endpoint takes Node's request and response, not a typed body
  greeter.feed({ name: "a" });
}
