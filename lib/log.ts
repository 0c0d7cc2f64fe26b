import pino from "pino";

/** Structured key/value fields attached to a log line. */
export type LogFields = Record<string, unknown>;

/** The one logging interface of the core: pino in standalone, Encore's logger under Encore. */
export interface Logger {
  debug(message: string, fields?: LogFields): void;
  info(message: string, fields?: LogFields): void;
  warn(message: string, fields?: LogFields): void;
  error(message: string, fields?: LogFields): void;
  /** A logger whose lines all carry `fields` (a job id, a project id, ...). */
  child(fields: LogFields): Logger;
}

/** Field names whose values are secrets: never written to a log line. */
export const SECRET_FIELD_NAMES = [
  "authorization",
  "token",
  "apiKey",
  "api_key",
  "password",
  "secret",
  "tokenHash",
  "token_hash",
] as const;

const REDACT_PATHS = SECRET_FIELD_NAMES.flatMap((name) => [name, `*.${name}`, `*.*.${name}`]);

/** A pino-backed logger writing JSON lines to `destination` (stdout by default). */
export function createPinoLogger(
  level: string,
  destination?: pino.DestinationStream,
): Logger {
  const instance = pino(
    { level, base: undefined, redact: { paths: REDACT_PATHS, censor: "[redacted]" } },
    destination,
  );
  return wrapPino(instance);
}

function wrapPino(instance: pino.Logger): Logger {
  return {
    debug: (message, fields) => instance.debug(fields ?? {}, message),
    info: (message, fields) => instance.info(fields ?? {}, message),
    warn: (message, fields) => instance.warn(fields ?? {}, message),
    error: (message, fields) => instance.error(fields ?? {}, message),
    child: (fields) => wrapPino(instance.child(fields)),
  };
}

/** Describes an unknown thrown value for a log line without losing its stack. */
export function errorFields(err: unknown): LogFields {
  if (err instanceof Error) return { err: { name: err.name, message: err.message, stack: err.stack } };
  return { err: String(err) };
}
