/**
 * Kiln's typed API client, derived from the backend's route tables (server/contracts.ts) and the
 * contract interfaces, so a route or type change on the server is a compile error here. Requests use
 * the server's own encoding (lib/wire.ts: path params, query string for GET/DELETE, JSON body
 * otherwise); Encore's error body `{ code, message, details }` becomes an `ApiError`. Works against
 * the standalone server and `encore run` alike (same paths, same shapes).
 *
 * ```ts
 * const kiln = createClient({ baseUrl: "", token: () => localStorage.getItem("kiln.token") });
 * const project = await kiln.projects.create({ name: "Todo app" });
 * const job = await kiln.ai.start({ projectId: project.id, prompt: "A todo list with dark mode" });
 * const stream = kiln.followGeneration(job.id, { onEvent: (e) => console.log(e.type, e.data) });
 * await stream.done;
 * ```
 */
import type { AiApi } from "../../../ai/contract";
import type { ErrorDetails } from "../../../lib/errors";
import type { Route } from "../../../lib/routes";
import { encodeRequest } from "../../../lib/wire";
import type { ProjectsApi } from "../../../projects/contract";
import { CONTRACT_ROUTES } from "../../../server/contracts";
import type { VfsApi } from "../../../vfs/contract";
import type { WorkspaceApi } from "../../../workspace/contract";
import { ApiError, errorFromResponse, networkError } from "./errors";
import { followEvents, type FollowHandlers, type FollowOptions, type Following } from "./sse";

export { ApiError, errorFromResponse, isApiError, networkError } from "./errors";
export type { GenerationEvent, GenerationEventType, StreamStatus, WorkspaceEventData } from "./sse";

/** The contract interface of each service, by the name CONTRACT_ROUTES uses. */
export interface ServiceApis {
  projects: ProjectsApi;
  workspace: WorkspaceApi;
  vfs: VfsApi;
  ai: AiApi;
}

type Tables = typeof CONTRACT_ROUTES;
export type ServiceName = keyof Tables & keyof ServiceApis;

/** Routes a browser can call as JSON: exposed and not raw (raw routes get their own helpers). */
type Callable<R> = R extends { expose: true } ? (R extends { raw: true } ? false : true) : false;

/** The request a method takes (methods without a request take nothing). */
export type RequestOf<F> = F extends (...args: infer A) => unknown ? (A extends [] ? void : A[0]) : never;
/** What a method resolves to. */
export type ResponseOf<F> = F extends (...args: never[]) => Promise<infer R> ? R : never;

/** Per-call options. */
export interface CallOptions {
  signal?: AbortSignal;
}

/** The typed methods of one service: every exposed, non-raw route of its table. */
export type ServiceClient<S extends ServiceName> = {
  [K in keyof ServiceApis[S] & keyof Tables[S] as Callable<Tables[S][K]> extends true ? K : never]: (
    request: RequestOf<ServiceApis[S][K]>,
    options?: CallOptions,
  ) => Promise<ResponseOf<ServiceApis[S][K]>>;
};

/** How the client reaches the API. */
export interface ClientOptions {
  /** Where the API is: "" (same origin, the default), `http://127.0.0.1:4000`, an Encore environment URL. */
  baseUrl?: string;
  /** The API token, read on every call (so signing in or out needs no new client). */
  token?: string | (() => string | null | undefined);
  /** Defaults to the global fetch. */
  fetch?: typeof fetch;
  /** Called with every `unauthenticated` error, e.g. to show the sign-in page again. */
  onUnauthenticated?: (error: ApiError) => void;
}

/** The typed client: one object per service, plus the event stream of a generation. */
export type KilnClient = { [S in ServiceName]: ServiceClient<S> } & {
  /** Calls any route of the table by hand (the typed methods use this). */
  call<T = unknown>(route: Route, request?: Record<string, unknown>, options?: CallOptions): Promise<T>;
  /** Follows a generation's Server-Sent Events, resuming with Last-Event-ID after any drop. */
  followGeneration(id: string, handlers: FollowHandlers, options?: FollowOptions): Following;
  /** The Authorization header value for the current token, if any. */
  authorization(): string | undefined;
  /** A project's thumbnail PNG (revalidated by ETag, so an unchanged one is not sent again), or null when it has none. */
  thumbnail(projectId: string, options?: CallOptions): Promise<Blob | null>;
};

/** Builds the client from CONTRACT_ROUTES: every exposed, non-raw route becomes a typed method. */
export function createClient(options: ClientOptions = {}): KilnClient {
  const baseUrl = (options.baseUrl ?? "").replace(/\/+$/, "");
  const doFetch = options.fetch ?? ((input: RequestInfo | URL, init?: RequestInit) => globalThis.fetch(input, init));
  const authorization = () => {
    const token = typeof options.token === "function" ? options.token() : options.token;
    return token ? `Bearer ${token}` : undefined;
  };
  const fail = (error: ApiError): never => {
    if (error.code === "unauthenticated") options.onUnauthenticated?.(error);
    throw error;
  };

  async function call<T>(route: Route, request: Record<string, unknown> = {}, callOptions: CallOptions = {}): Promise<T> {
    let encoded: { path: string; body?: string };
    try {
      encoded = encodeRequest(route, request);
    } catch (err) {
      const details = (err as { details?: ErrorDetails | null }).details ?? null;
      throw new ApiError(400, "invalid_argument", err instanceof Error ? err.message : String(err), details);
    }
    const headers: Record<string, string> = { accept: "application/json" };
    const auth = authorization();
    if (auth) headers.authorization = auth;
    if (encoded.body !== undefined) headers["content-type"] = "application/json";
    const url = `${baseUrl}${encoded.path}`;
    let response: Response;
    try {
      response = await doFetch(url, { method: route.method, headers, body: encoded.body, signal: callOptions.signal });
    } catch (err) {
      throw networkError(err, url);
    }
    if (!response.ok) return fail(await errorFromResponse(response));
    const text = await response.text();
    return (text ? JSON.parse(text) : undefined) as T;
  }

  const client: Record<string, unknown> = {};
  for (const [service, table] of Object.entries(CONTRACT_ROUTES) as [string, Record<string, Route>][]) {
    const methods: Record<string, unknown> = {};
    for (const [name, route] of Object.entries(table)) {
      if (!route.expose || route.raw) continue;
      methods[name] = (request?: Record<string, unknown>, callOptions?: CallOptions) => call(route, request ?? {}, callOptions);
    }
    client[service] = methods;
  }
  client.call = call;
  client.authorization = authorization;
  client.thumbnail = async (projectId: string, callOptions: CallOptions = {}) => {
    const { path } = encodeRequest(CONTRACT_ROUTES.projects.thumbnail, { id: projectId });
    const auth = authorization();
    const url = `${baseUrl}${path}`;
    let response: Response;
    try {
      response = await doFetch(url, { headers: auth ? { authorization: auth } : {}, cache: "no-cache", signal: callOptions.signal });
    } catch (err) {
      throw networkError(err, url);
    }
    if (response.status === 404) return null;
    if (!response.ok) return fail(await errorFromResponse(response));
    return response.blob();
  };
  client.followGeneration = (id: string, handlers: FollowHandlers, followOptions: FollowOptions = {}) => {
    const { path } = encodeRequest(CONTRACT_ROUTES.ai.events, { id });
    return followEvents(`${baseUrl}${path}`, handlers, {
      ...followOptions,
      fetch: followOptions.fetch ?? doFetch,
      headers: (): Record<string, string> => {
        const auth = authorization();
        return auth ? { authorization: auth } : {};
      },
      onFatal: (error) => {
        if (error.code === "unauthenticated") options.onUnauthenticated?.(error);
        followOptions.onFatal?.(error);
      },
    });
  };
  return client as KilnClient;
}
