import { expect } from "vitest";
import { AppError } from "../../lib/errors";

/** The invalid_argument error `fn` throws (fails the test when it throws nothing or something else). */
export async function refusal(fn: () => unknown): Promise<AppError> {
  try {
    await fn();
  } catch (err) {
    expect(err).toBeInstanceOf(AppError);
    expect((err as AppError).code).toBe("invalid_argument");
    return err as AppError;
  }
  throw new Error("expected an invalid_argument refusal, got none");
}
