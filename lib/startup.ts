/**
 * Starting a service whose dependencies may not be there yet: bounded retries with backoff, each
 * failure logged, and, while it is not up, a service that answers `unavailable` with the reason
 * (health reporting it down) instead of crashing or caching the failure for good.
 */
import pg from "pg";
import { AppError, hasCode, isConnectionFailure } from "./errors";
import { summarize, type ServiceHealth } from "./health";
import { errorFields, type Logger } from "./log";

/** How a start is retried. */
export interface RetryPolicy {
  /** Attempts in one round, the first included. */
  attempts: number;
  /** Wait after the first failure; it doubles after each further one. */
  firstDelayMs: number;
  maxDelayMs: number;
}

/** Eight attempts over about 45 s: long enough for a database container that is still starting. */
export const STARTUP_RETRY: RetryPolicy = { attempts: 8, firstDelayMs: 500, maxDelayMs: 15_000 };

/**
 * A start failure no retry can fix (a secret or a setting is missing): reported as it is, never retried.
 * Its `details.notConfigured` names the check, so a caller in another service knows it too.
 */
export class NotConfigured extends AppError {
  constructor(
    /** The health check it fails ("mongodb", "anthropic", ...). */
    readonly check: string,
    message: string,
  ) {
    super("unavailable", message, { notConfigured: check });
  }
}

/** Whether `err` is a service saying it is not configured (a `NotConfigured`, here or from another service's answer). */
export function isNotConfigured(err: unknown): boolean {
  if (err instanceof NotConfigured) return true;
  const details = (err as { details?: unknown } | null)?.details;
  return hasCode(err, "unavailable") && typeof details === "object" && details !== null && typeof (details as { notConfigured?: unknown }).notConfigured === "string";
}

/** The words health and every endpoint use when an Encore secret is empty or unset. */
export function missingSecret(check: string, secret: string, purpose: string): NotConfigured {
  return new NotConfigured(
    check,
    `the ${secret} secret is not set (${purpose}): set it with \`encore secret set --type local ${secret}\` or in .secrets.local.cue, then restart`,
  );
}

/** A secret's value, or "" when it is unset (Encore returns "" locally but throws in the cloud). */
export function secretValue(read: () => string): string {
  try {
    return read().trim();
  } catch {
    return "";
  }
}

/**
 * A pool on a service's database (Encore's `db.connectionString`). It connects on first use, and an
 * idle connection that fails (the database restarted) is logged: without a listener pg's `error` event
 * would end the process.
 */
export function servicePool(connectionString: string, log: Logger): pg.Pool {
  const pool = new pg.Pool({ connectionString });
  pool.on("error", (err) => log.warn("idle postgres connection failed", { reason: err.message }));
  return pool;
}

const NETWORK_CODES = new Set(["ENOTFOUND", "EAI_AGAIN", "ETIMEDOUT", "EHOSTUNREACH", "ENETUNREACH"]);

/** Whether a start failed because a server it needs cannot be reached (yet): worth another attempt. */
export function isUnreachable(err: unknown): boolean {
  if (isConnectionFailure(err)) return true;
  const code = (err as { code?: unknown } | null)?.code;
  if (typeof code === "string" && NETWORK_CODES.has(code)) return true;
  const name = (err as { name?: unknown } | null)?.name;
  return name === "MongoServerSelectionError" || name === "MongoNetworkError";
}

const sleepFor = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms).unref?.());

/** Options of one retried start. */
export interface RetryOptions {
  log: Logger;
  policy?: RetryPolicy;
  /** Which failures are worth another attempt (default: anything but NotConfigured). */
  retryable?: (err: unknown) => boolean;
  /** Called after each failed attempt (the service shows the reason while it retries). */
  onFailure?: (err: unknown, attempt: number) => void;
  sleep?: (ms: number) => Promise<void>;
}

/**
 * Runs `start` until it succeeds: at most `policy.attempts` times, waiting `firstDelayMs`, then twice
 * as long each time up to `maxDelayMs`. Every failure is logged with the attempt and the next wait; a
 * failure that is not retryable, or the last one, is thrown.
 */
export async function retryStart<T>(what: string, start: () => Promise<T>, options: RetryOptions): Promise<T> {
  const policy = options.policy ?? STARTUP_RETRY;
  const retryable = options.retryable ?? ((err: unknown) => !(err instanceof NotConfigured));
  const sleep = options.sleep ?? sleepFor;
  for (let attempt = 1; ; attempt++) {
    try {
      const started = await start();
      if (attempt > 1) options.log.info(`${what} started`, { attempt });
      return started;
    } catch (err) {
      options.onFailure?.(err, attempt);
      if (!retryable(err) || attempt >= policy.attempts) {
        options.log.error(`${what} failed to start`, { attempt, attempts: policy.attempts, ...errorFields(err) });
        throw err;
      }
      const waitMs = Math.min(policy.maxDelayMs, policy.firstDelayMs * 2 ** (attempt - 1));
      options.log.warn(`${what} could not start yet; retrying`, { attempt, attempts: policy.attempts, retryInMs: waitMs, ...errorFields(err) });
      await sleep(waitMs);
    }
  }
}

function reasonOf(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/** A service built in the background, usable at once. */
export interface StartingService<T> {
  /** The service: each call waits for the start, or answers `unavailable` saying why it is not up. */
  api: T;
  /** The started service, or the error that keeps it down. */
  ready(): Promise<T>;
}

/**
 * Starts a service in the background with `retryStart` and returns it at once. Until it is up, `health`
 * reports it down naming the reason (a `NotConfigured` under its own check, anything else under
 * "startup") and every other method throws `unavailable` with the same words. A round that gave up is
 * not remembered: the next call starts another. A `NotConfigured` is final (a restart is needed).
 */
export function startInBackground<T extends { health(): Promise<ServiceHealth> }>(options: {
  service: string;
  /** Every method of the service's contract (its route table's keys). */
  methods: readonly string[];
  start: () => Promise<T>;
  log: Logger;
  policy?: RetryPolicy;
  sleep?: (ms: number) => Promise<void>;
}): StartingService<T> {
  let started: T | undefined;
  let lastError: unknown;
  let round: Promise<T> | undefined;
  let firstAttempt: Promise<void> | undefined;

  const begin = () => {
    let attempted!: () => void;
    firstAttempt = new Promise<void>((resolve) => (attempted = resolve));
    round = retryStart(`the ${options.service} service`, options.start, {
      log: options.log,
      policy: options.policy,
      sleep: options.sleep,
      onFailure: (err) => {
        lastError = err;
        attempted();
      },
    }).then(
      (service) => {
        started = service;
        lastError = undefined;
        attempted();
        return service;
      },
      (err: unknown) => {
        round = undefined;
        attempted();
        throw err;
      },
    );
    round.catch(() => undefined);
  };

  const unavailable = (): AppError => {
    if (lastError instanceof NotConfigured) return lastError;
    const state = round ? "is still starting" : "could not start";
    return new AppError("unavailable", `the ${options.service} service ${state}: ${reasonOf(lastError)}; try again shortly`);
  };

  const ready = async (): Promise<T> => {
    if (started) return started;
    if (!round && !(lastError instanceof NotConfigured)) begin();
    await firstAttempt;
    if (started) return started;
    throw unavailable();
  };

  const api: Record<string, unknown> = {};
  for (const method of options.methods) {
    api[method] = async (...args: unknown[]) => {
      const service = (await ready()) as unknown as Record<string, (...a: unknown[]) => Promise<unknown>>;
      return service[method]!(...args);
    };
  }
  api.health = async (): Promise<ServiceHealth> => {
    try {
      return await (await ready()).health();
    } catch (err) {
      if (started) throw err;
      const check = lastError instanceof NotConfigured ? lastError.check : "startup";
      return summarize(options.service, [{ name: check, status: "fail", detail: reasonOf(unavailable()), latencyMs: 0 }]);
    }
  };

  begin();
  return { api: api as unknown as T, ready };
}
