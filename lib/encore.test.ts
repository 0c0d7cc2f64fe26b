import { describe, expect, it, vi } from "vitest";

// The Encore runtime cannot load here (its native library ships only with the CLI), so its two
// modules are replaced by stand-ins with the same surface; what is tested is our mapping.
const logged: unknown[][] = [];
vi.mock("encore.dev/api", () => {
  class APIError extends Error {
    constructor(readonly code: string, message: string, cause?: Error, readonly details?: Record<string, unknown>) {
      super(message, { cause });
    }
    withDetails(details: Record<string, unknown>) {
      return new APIError(this.code, this.message, undefined, details);
    }
  }
  const ErrCode = { Canceled: "canceled", Unknown: "unknown", InvalidArgument: "invalid_argument", DeadlineExceeded: "deadline_exceeded", NotFound: "not_found", AlreadyExists: "already_exists", PermissionDenied: "permission_denied", ResourceExhausted: "resource_exhausted", FailedPrecondition: "failed_precondition", Aborted: "aborted", OutOfRange: "out_of_range", Unimplemented: "unimplemented", Internal: "internal", Unavailable: "unavailable", DataLoss: "data_loss", Unauthenticated: "unauthenticated" };
  return { APIError, ErrCode };
});
vi.mock("encore.dev/log", () => {
  const logger = { with: () => logger, debug: () => undefined, info: () => undefined, warn: () => undefined, error: (...args: unknown[]) => logged.push(args) };
  return { default: logger };
});

const { call, toAPIError } = await import("./encore");
const { AppError } = await import("./errors");

describe("the Encore error bridge", () => {
  it("keeps an AppError's code, message and details", () => {
    const error = toAPIError(new AppError("already_exists", "job job_1 is running", { jobId: "job_1" }));
    expect(error).toMatchObject({ code: "already_exists", message: "job job_1 is running", details: { jobId: "job_1" } });
  });

  it("turns any other error into internal with a generic message, and logs the original", async () => {
    const original = new Error("duplicate key value violates unique constraint \"tokens_hash\"");
    await expect(call(async () => Promise.reject(original))).rejects.toMatchObject({ code: "internal", message: "an internal error occurred" });
    expect(logged.at(-1)?.[0]).toBe(original);
  });
});
