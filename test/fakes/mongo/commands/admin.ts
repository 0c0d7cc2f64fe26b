import { Int32 } from "bson";
import type { Doc } from "../bson-values.js";
import { CommandError } from "../errors.js";
import { specificFields } from "./arguments.js";
import type { CommandContext, CommandHandler } from "./context.js";

/** The MongoDB version the fake claims to be. */
const SERVER_VERSION = [7, 0, 0];
/** Wire version of MongoDB 7.0. */
const MAX_WIRE_VERSION = 21;
const MAX_BSON_OBJECT_SIZE = 16 * 1024 * 1024;

/**
 * The handshake / monitoring reply of a writable standalone server. It carries no
 * `topologyVersion`, so drivers poll with `hello` instead of streaming. The legacy
 * `isMaster` spelling answers `ismaster`, `hello` answers `isWritablePrimary`.
 */
function hello(legacy: boolean): CommandHandler {
  return (_command: Doc, context: CommandContext) => ({
    [legacy ? "ismaster" : "isWritablePrimary"]: true,
    helloOk: true,
    maxBsonObjectSize: MAX_BSON_OBJECT_SIZE,
    maxMessageSizeBytes: 48_000_000,
    maxWriteBatchSize: 100_000,
    localTime: new Date(),
    logicalSessionTimeoutMinutes: 30,
    connectionId: context.connectionId,
    minWireVersion: 0,
    maxWireVersion: MAX_WIRE_VERSION,
    readOnly: false,
    ok: 1,
  });
}

function buildInfo(): Doc {
  return {
    version: SERVER_VERSION.join("."),
    versionArray: [...SERVER_VERSION, 0].map((part) => new Int32(part)),
    gitVersion: "fake-mongo",
    // Lets Kiln say plainly that files kept here are not durable.
    kilnStandIn: true,
    modules: [],
    bits: 64,
    debug: false,
    maxBsonObjectSize: MAX_BSON_OBJECT_SIZE,
    storageEngines: ["memory"],
    ok: 1,
  };
}

/** Only the parameter drivers and tools commonly ask for is known. */
function getParameter(command: Doc): Doc {
  const reply: Doc = {};
  for (const name of specificFields(command)) {
    if (name !== "featureCompatibilityVersion") throw new CommandError("InvalidOptions", `no option found to get: ${name}`);
    reply[name] = { version: SERVER_VERSION.slice(0, 2).join(".") };
  }
  return { ...reply, ok: 1 };
}

const ok = (): Doc => ({ ok: 1 });

/** Handshake, server information and session commands. */
export const adminCommands: Record<string, CommandHandler> = {
  hello: hello(false),
  isMaster: hello(true),
  ismaster: hello(true),
  ping: ok,
  buildInfo,
  buildinfo: buildInfo,
  getParameter,
  endSessions: ok,
  killSessions: ok,
};
