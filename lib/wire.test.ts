import { describe, expect, it } from "vitest";
import { AppError } from "./errors";
import type { Route } from "./routes";
import { coerceField, decodeRequest, encodeRequest } from "./wire";

const list: Route = { method: "GET", path: "/projects/:id/files", expose: true, auth: true, fields: { id: "string", limit: "number", recursive: "boolean", paths: "string[]" } };
const update: Route = { method: "PATCH", path: "/projects/:id", expose: true, auth: true };

describe("request encoding, as Encore does it", () => {
  it("round-trips a GET request through the path and query string", () => {
    const request = { id: "prj 1/x", limit: 5, recursive: false, paths: ["a b", "c"] };
    const { path, body } = encodeRequest(list, request);
    expect(body).toBeUndefined();
    expect(path).toBe("/projects/prj%201%2Fx/files?limit=5&recursive=false&paths=a+b&paths=c");
    const url = new URL(path, "http://x");
    const query: Record<string, string | string[]> = {};
    for (const key of new Set(url.searchParams.keys())) {
      const all = url.searchParams.getAll(key);
      query[key] = all.length > 1 ? all : all[0]!;
    }
    expect(decodeRequest(list, { id: "prj 1/x" }, query, undefined)).toEqual({ ...request, paths: ["a b", "c"] });
  });

  it("sends POST/PUT/PATCH fields as a JSON body and path params in the path", () => {
    expect(encodeRequest(update, { id: "p1", name: "New" })).toEqual({ path: "/projects/p1", body: '{"name":"New"}' });
    expect(decodeRequest(update, { id: "p1" }, {}, { name: "New", id: "spoofed" })).toEqual({ id: "p1", name: "New" });
  });

  it.each([
    ["number", "abc", 'n: must be a number, got "abc"'],
    ["number", "", 'n: must be a number, got ""'],
    ["boolean", "yes", 'n: must be true or false, got "yes"'],
  ] as const)("rejects %s field %j with a message naming the field", (kind, text, message) => {
    expect(() => coerceField("n", kind, text)).toThrow(new AppError("invalid_argument", message, { field: "n" }));
  });

  it("rejects a scalar given twice and a body that is not an object", () => {
    expect(() => coerceField("limit", "number", ["1", "2"])).toThrow("limit: must be given once, not as a list");
    expect(() => decodeRequest(update, { id: "p" }, {}, "text")).toThrow("body: must be a JSON object");
  });

  it("refuses to build a path with a missing parameter", () => {
    expect(() => encodeRequest(update, { name: "x" })).toThrow("id: is required (it is part of the path)");
  });

  it("refuses a NUL character anywhere in a request, naming where", () => {
    expect(() => decodeRequest(update, { id: "p1" }, {}, { name: "a\u0000b" })).toThrow("name: must not contain a NUL character (U+0000)");
    expect(() => decodeRequest(update, { id: "p1" }, {}, { tags: ["ok", "x\u0000"] })).toThrow("tags[1]: must not contain a NUL character");
    expect(() => decodeRequest(list, { id: "p\u0000" }, {}, undefined)).toThrow("id: must not contain a NUL character");
  });
});
