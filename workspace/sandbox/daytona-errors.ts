/**
 * Daytona's failures as the AppErrors a caller can act on, and the retries Daytona's answers call for
 * (the SDK retries no HTTP status: a 409 "state change in progress" or a 429 is ours to wait out).
 * Daytona's words are kept in the message (capped: an answer is untrusted text); its status goes to
 * `details.daytonaStatus`.
 */
import { DaytonaError, DaytonaTimeoutError } from "@daytonaio/sdk";
import { AppError } from "../../lib/errors";

/** The most of Daytona's own message an error repeats. */
const MAX_MESSAGE = 500;
/** Daytona's words for a quota or a limit of the organisation (400 "Total CPU limit exceeded…", 403 "…Depleted credits"). */
const QUOTA = /limit exceeded|quota|depleted credits|insufficient (credits|resources)/i;

/** The HTTP status of a Daytona SDK error, if it has one. */
export function statusOf(err: unknown): number | undefined {
  return err instanceof DaytonaError ? err.statusCode : undefined;
}

/** Daytona's message of an error, capped and on one line. */
export function messageOf(err: unknown): string {
  const text = err instanceof Error ? err.message : String(err);
  const line = text.replace(/\s+/g, " ").trim();
  return line.length > MAX_MESSAGE ? `${line.slice(0, MAX_MESSAGE)}…` : line;
}

/** Whether Daytona refused because an organisation quota or limit is reached (not worth a retry soon). */
export function isQuota(err: unknown): boolean {
  const status = statusOf(err);
  return (status === 400 || status === 403 || status === 429) && QUOTA.test(messageOf(err));
}

/** The reason of a sandbox that failed to start: the API's 400 "Sandbox failed to start: <reason>" or the SDK's poll verdict. */
export function failedStartReason(err: unknown): string | undefined {
  if (!(err instanceof DaytonaError)) return undefined;
  const message = messageOf(err);
  if (statusOf(err) === 400 && /^Sandbox failed to start/i.test(message)) return message.replace(/^Sandbox failed to start:?\s*/i, "") || message;
  if (/failed to start with status/.test(message)) return message;
  return undefined;
}

/** A Daytona SDK failure while doing `what` as the AppError a caller can act on. */
export function daytonaFailure(err: unknown, what: string): AppError {
  if (err instanceof AppError) return err;
  const status = statusOf(err);
  const message = `Daytona: ${what} failed: ${messageOf(err)}`;
  const details = status === undefined ? null : { daytonaStatus: status };
  if (isQuota(err)) return new AppError("resource_exhausted", `${message} (a quota of the Daytona organisation)`, details);
  if (status === 404) return new AppError("not_found", message, details);
  if (status === 401 || status === 403) return new AppError("unavailable", `${message} (check DAYTONA_API_KEY)`, details);
  if (status === 429) return new AppError("resource_exhausted", `${message} (Daytona's rate limit)`, details);
  if (status === 408 || status === 504 || err instanceof DaytonaTimeoutError) return new AppError("deadline_exceeded", message, details);
  if (status === 409) return new AppError("aborted", `${message} (a state change of the sandbox is in progress; try again)`, details);
  if (status === 400 || status === 422) return new AppError("failed_precondition", message, details);
  return new AppError("unavailable", message, details);
}

/** How long and how often {@link retrying} waits. */
export interface RetryPolicy {
  /** Attempts in all (the first included). */
  attempts: number;
  /** The first wait; each next one doubles, up to {@link maxMs}. */
  baseMs: number;
  maxMs: number;
}

/** The policy of state changes: about 30 s of 409s before giving up. */
export const STATE_CHANGE_RETRIES: RetryPolicy = { attempts: 8, baseMs: 250, maxMs: 8000 };

/** Whether an answer says "not now" rather than "no": a state change in progress (409) or the rate limit (429), not a quota. */
export function isRetryable(err: unknown): boolean {
  const status = statusOf(err);
  return (status === 409 || status === 429) && !isQuota(err);
}

/**
 * Runs `call`, again after a growing pause (with jitter) while Daytona answers 409 or 429, as often as
 * the policy allows; `onRetry` may look at the sandbox between attempts (and throw to stop).
 */
export async function retrying<T>(call: () => Promise<T>, policy: RetryPolicy, onRetry?: (err: unknown) => Promise<void>): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await call();
    } catch (err) {
      if (!isRetryable(err) || attempt >= policy.attempts) throw err;
      const pause = Math.min(policy.maxMs, policy.baseMs * 2 ** (attempt - 1));
      await new Promise((resolve) => setTimeout(resolve, pause * (0.75 + Math.random() * 0.25)));
      await onRetry?.(err);
    }
  }
}
