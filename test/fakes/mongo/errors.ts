import type { Doc } from "./bson-values.js";

/** Server error codes the fake reports, keyed by the codeName a real server uses. */
const ERROR_CODES = {
  InternalError: 1,
  BadValue: 2,
  FailedToParse: 9,
  TypeMismatch: 14,
  NamespaceNotFound: 26,
  IndexNotFound: 27,
  PathNotViable: 28,
  ConflictingUpdateOperators: 40,
  CursorNotFound: 43,
  NamespaceExists: 48,
  CommandNotFound: 59,
  ImmutableField: 66,
  InvalidOptions: 72,
  IndexOptionsConflict: 85,
  IndexKeySpecsConflict: 86,
  CommandNotSupported: 115,
  DuplicateKey: 11000,
} as const;

/** Name of an error the fake can report. */
export type ErrorCodeName = keyof typeof ERROR_CODES;

/**
 * A failure reported to the client, either as a command reply
 * `{ok: 0, errmsg, code, codeName}` or as one entry of `writeErrors`.
 */
export class CommandError extends Error {
  constructor(
    readonly codeName: ErrorCodeName,
    message: string,
    /** Extra fields copied into the reply, e.g. `keyPattern`/`keyValue` of a duplicate key. */
    readonly details: Doc = {},
  ) {
    super(message);
    this.name = "CommandError";
  }

  /** Numeric server error code. */
  get code(): number {
    return ERROR_CODES[this.codeName];
  }

  /** The whole-command failure reply. */
  toReply(): Doc {
    return { ok: 0, errmsg: this.message, code: this.code, codeName: this.codeName, ...this.details };
  }

  /** The `writeErrors` entry for the statement at `index` of a write command. */
  toWriteError(index: number): Doc {
    return { index, code: this.code, errmsg: this.message, ...this.details };
  }
}

/** BadValue (code 2): the request is malformed or uses an unknown operator. */
export function badValue(message: string): CommandError {
  return new CommandError("BadValue", message);
}

/** CommandNotSupported (code 115): valid MongoDB the fake deliberately does not implement. */
export function notSupported(feature: string): CommandError {
  return new CommandError("CommandNotSupported", `${feature} is not supported by the fake MongoDB server`);
}
