import { describe, expect, it } from "vitest";
import { AppError, HTTP_STATUS, invalidArgument, notFound, toErrorBody } from "./errors";

describe("AppError", () => {
  it("carries Encore's status for each code", () => {
    expect(HTTP_STATUS).toMatchObject({ invalid_argument: 400, failed_precondition: 400, unauthenticated: 401, permission_denied: 403, not_found: 404, already_exists: 409, aborted: 409, resource_exhausted: 429, internal: 500, unavailable: 503, deadline_exceeded: 504 });
    expect(new AppError("already_exists", "x").status).toBe(409);
  });

  it("names the field of an invalid argument", () => {
    expect(invalidArgument("name", "must not be empty").toBody()).toEqual({ code: "invalid_argument", message: "name: must not be empty", details: { field: "name" } });
    expect(notFound("project", "prj_1").message).toBe('project "prj_1" not found');
  });

  it("turns anything else into a generic internal error without its message", () => {
    expect(toErrorBody(new Error("connection to 10.0.0.5 failed, password=x"))).toEqual({
      status: 500,
      body: { code: "internal", message: "an internal error occurred", details: null },
    });
  });
});

describe("database connection failures", () => {
  it("are told apart from other errors and answered as 503 unavailable", async () => {
    const { isConnectionFailure } = await import("./errors");
    const terminated = Object.assign(new Error("terminating connection due to administrator command"), { code: "57P01" });
    const refused = Object.assign(new Error("connect ECONNREFUSED 127.0.0.1:5432"), { code: "ECONNREFUSED" });
    const ended = new Error("Connection terminated unexpectedly");
    for (const err of [terminated, refused, ended]) {
      expect(isConnectionFailure(err)).toBe(true);
      expect(toErrorBody(err)).toEqual({ status: 503, body: { code: "unavailable", message: "the database is unavailable right now; try again in a moment", details: null } });
    }
    const constraint = Object.assign(new Error('duplicate key value violates unique constraint "x"'), { code: "23505" });
    expect(isConnectionFailure(constraint)).toBe(false);
    expect(toErrorBody(constraint).status).toBe(500);
  });
});
