import type { IncomingMessage, ServerResponse } from "node:http";

/** Encore's request body limit of an endpoint that declares none (api.rs:376-380); see lib/batches.ts. */
export const ENCORE_DEFAULT_BODY_LIMIT = 2 * 1024 * 1024;

/**
 * The body limit declared by the endpoints that take one file alone: 16 MiB holds the vfs's largest file
 * (10 MiB, 13.4 MiB in base64) with its JSON around it. workspace/api.ts and vfs/api.ts write this number
 * as a literal (Encore's parser takes nothing else); the contract-drift check holds them to it. Here, not
 * in lib/batches.ts, because the contracts (which the dashboard bundles) name it.
 */
export const FILE_CALL_BODY_LIMIT = 16 * 1024 * 1024;

/** HTTP methods an endpoint may use; `"*"` (every method, as Encore's) only for a raw one. */
export type HttpMethod = "GET" | "POST" | "PUT" | "PATCH" | "DELETE" | "*";

/** Who is calling: the authenticated user, when the route requires auth. */
export interface AuthData {
  userID: string;
}

/** The handler shape of a raw route, identical under Encore (`api.raw`) and the standalone server. */
export type RawHandler = (
  req: IncomingMessage,
  res: ServerResponse,
  params: Record<string, string>,
  auth?: AuthData,
) => Promise<void>;

/** How a path or query field is decoded from its text form (Encore coerces them the same way). */
export type FieldKind = "string" | "number" | "boolean" | "string[]" | "number[]" | "boolean[]";

/** Where and how a contract method is served; the same facts as the options of its Encore `api()`. */
export interface Route {
  method: HttpMethod;
  /** Encore path syntax: `/workspaces/:id`. */
  path: string;
  /** Reachable from outside the app (Encore's `expose`). */
  expose: boolean;
  /** Requires an authenticated caller (Encore's `auth`). */
  auth: boolean;
  /** The largest request body, when not Encore's default of 2 MiB (Encore's `bodyLimit`; see lib/batches.ts). */
  bodyLimit?: number;
  /** An `api.raw` endpoint: the handler gets Node's request and response (Server-Sent Events). */
  raw?: true;
  /** GET/DELETE only: every request field with its kind, for decoding the path and query string. */
  fields?: Record<string, FieldKind>;
}

type KindOf<V> = V extends string
  ? "string"
  : V extends number
    ? "number"
    : V extends boolean
      ? "boolean"
      : V extends readonly string[]
        ? "string[]"
        : V extends readonly number[]
          ? "number[]"
          : V extends readonly boolean[]
            ? "boolean[]"
            : never;

/** The field kinds of a request type: a GET/DELETE route must list exactly these. */
export type FieldKinds<Req> = { [K in keyof Req]-?: KindOf<NonNullable<Req[K]>> };

type RequestOf<F> = F extends (req: infer R, ...rest: never[]) => unknown ? R : void;

type RouteOf<F> = F extends RawHandler
  ? Route & { raw: true }
  :
      | (Route & { method: "POST" | "PUT" | "PATCH"; fields?: never })
      | (Route & { method: "GET" | "DELETE"; fields: RequestOf<F> extends object ? FieldKinds<RequestOf<F>> : Record<string, never> });

/**
 * A route table: exactly one route per method of the contract interface `T`. For GET and DELETE
 * routes the compiler also holds `fields` to the method's request type, so decoding cannot drift.
 */
export type Routes<T> = { [K in keyof T]-?: RouteOf<T[K]> };

/** The path parameter names of an Encore path, in order. */
export function pathParams(path: string): string[] {
  return path
    .split("/")
    .filter((segment) => /^[:*!]/.test(segment))
    .map((segment) => segment.slice(1));
}

/** Methods whose non-path fields travel in the query string rather than a JSON body (Encore's rule). */
export function usesQuery(method: HttpMethod): boolean {
  return method === "GET" || method === "DELETE";
}
