/**
 * The bridge between the framework-free core and Encore. Imported only by `api.ts` and
 * `encore-wiring.ts` files: importing `encore.dev` anywhere else would break the standalone server.
 */
import { APIError, ErrCode } from "encore.dev/api";
import log from "encore.dev/log";
import { AppError, DATABASE_UNAVAILABLE, GENERIC_INTERNAL_MESSAGE, isConnectionFailure, type ErrorCode } from "./errors";
import type { LogFields, Logger } from "./log";

const ENCORE_CODES: Record<ErrorCode, ErrCode> = {
  canceled: ErrCode.Canceled,
  unknown: ErrCode.Unknown,
  invalid_argument: ErrCode.InvalidArgument,
  deadline_exceeded: ErrCode.DeadlineExceeded,
  not_found: ErrCode.NotFound,
  already_exists: ErrCode.AlreadyExists,
  permission_denied: ErrCode.PermissionDenied,
  resource_exhausted: ErrCode.ResourceExhausted,
  failed_precondition: ErrCode.FailedPrecondition,
  aborted: ErrCode.Aborted,
  out_of_range: ErrCode.OutOfRange,
  unimplemented: ErrCode.Unimplemented,
  internal: ErrCode.Internal,
  unavailable: ErrCode.Unavailable,
  data_loss: ErrCode.DataLoss,
  unauthenticated: ErrCode.Unauthenticated,
};

/** Turns what the core threw into Encore's APIError; anything but an AppError is logged and hidden. */
export function toAPIError(err: unknown): APIError {
  if (err instanceof APIError) return err;
  if (isConnectionFailure(err)) return toAPIError(DATABASE_UNAVAILABLE);
  if (err instanceof AppError) {
    const apiError = new APIError(ENCORE_CODES[err.code], err.message);
    return err.details ? apiError.withDetails(err.details) : apiError;
  }
  log.error(err, "unexpected error in endpoint");
  return new APIError(ErrCode.Internal, GENERIC_INTERNAL_MESSAGE);
}

/** Runs a core call inside an endpoint, mapping its errors to Encore's. */
export async function call<T>(fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    throw toAPIError(err);
  }
}

type EncoreLogger = ReturnType<typeof log.with>;

function wrap(target: EncoreLogger): Logger {
  const fieldsOf = (fields?: LogFields) => (fields ?? {}) as Parameters<EncoreLogger["info"]>[1];
  return {
    debug: (message, fields) => target.debug(message, fieldsOf(fields)),
    info: (message, fields) => target.info(message, fieldsOf(fields)),
    warn: (message, fields) => target.warn(message, fieldsOf(fields)),
    error: (message, fields) => target.error(message, fieldsOf(fields)),
    child: (fields) => wrap(target.with(fieldsOf(fields))),
  };
}

/** The core's Logger on top of Encore's structured logger (its lines appear in Encore's traces). */
export const encoreLogger: Logger = wrap(log.with({}));
