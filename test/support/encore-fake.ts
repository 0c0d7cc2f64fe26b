/**
 * A stand-in for the Encore runtime, so the adapter files (`*\/encore-wiring.ts`, `encore-auth.ts`)
 * run in plain vitest. A test file mocks the Encore modules with the pieces below:
 *
 *   vi.mock("encore.dev/config", async () => (await import("../test/support/encore-fake")).configModule);
 *   vi.mock("encore.dev/storage/sqldb", async () => (await import("../test/support/encore-fake")).sqldbModule);
 *   vi.mock("encore.dev/api", async () => (await import("../test/support/encore-fake")).apiModule);
 *   vi.mock("encore.dev/log", async () => (await import("../test/support/encore-fake")).logModule);
 *   vi.mock("~encore/clients", async () => (await import("../test/support/encore-fake")).clientsModule);
 *
 * and, to load `api.ts` files too, `encore.dev/cron` (cronModule), `~encore/auth` (authModule),
 * `encore.dev/auth` (encoreAuthModule) and `encore.dev` (rootModule).
 *
 * It models what the adapters rely on and nothing more: secrets read as "" when unset (Encore's local
 * behaviour), a database's connection string, APIError, the structured logger, and service clients that
 * pass the current request along as their source, as Encore's runtime does (encore.dev's reqtrack keeps
 * the current request in an AsyncLocalStorage and every `~encore/clients` call sends it, so the callee
 * inherits its trace and, without explicit `authData`, its auth). It is not Encore: nothing here proves
 * how the real runtime schedules, traces or shuts down.
 */
import { AsyncLocalStorage } from "node:async_hooks";

/** A request being handled, as Encore's reqtrack would hold it. */
export interface FakeRequest {
  endpoint: string;
  authData?: { userID: string };
}

/** Each service-to-service call made, with the request it was made from (null: none) and its auth. */
export interface ClientCall {
  service: string;
  endpoint: string;
  request: unknown;
  source: FakeRequest | null;
  /** The auth the callee sees: explicit `authData`, else the source request's. */
  authData: { userID: string } | undefined;
}

type Handler = (request: unknown, opts?: { authData?: { userID: string } }) => Promise<unknown>;

/**
 * The runtime's state lives on globalThis: a test that re-imports the adapters after
 * `vi.resetModules()` (a second instance, a restart) gets new module instances, one runtime.
 */
const state = ((globalThis as { __kilnEncoreFake?: unknown }).__kilnEncoreFake ??= {
  requestContext: new AsyncLocalStorage<FakeRequest>(),
  secrets: new Map<string, string>(),
  databases: new Map<string, string>(),
  clientCalls: [] as ClientCall[],
  clientHandlers: new Map<string, Handler>(),
  logLines: [] as { level: string; message: string; fields: Record<string, unknown> }[],
}) as {
  requestContext: AsyncLocalStorage<FakeRequest>;
  secrets: Map<string, string>;
  databases: Map<string, string>;
  clientCalls: ClientCall[];
  clientHandlers: Map<string, Handler>;
  logLines: { level: string; message: string; fields: Record<string, unknown> }[];
};

/** The current request: enter it with `requestContext.run(req, fn)` to act inside an endpoint. */
export const requestContext = state.requestContext;

/** Secret values by name; a missing one reads as "". */
export const secrets = state.secrets;

/** Connection strings by database name. */
export const databases = state.databases;

export const clientCalls = state.clientCalls;

/** What each `~encore/clients` endpoint does, by "service.endpoint"; unset ones answer `unavailable`. */
export const clientHandlers = state.clientHandlers;

/** Log lines written through encore.dev/log. */
export const logLines = state.logLines;

/** Forgets every secret, database, call, handler and log line. */
export function resetEncoreFake(): void {
  secrets.clear();
  databases.clear();
  clientCalls.length = 0;
  clientHandlers.clear();
  logLines.length = 0;
}

export const configModule = {
  secret: (name: string) => () => secrets.get(name) ?? "",
};

export const sqldbModule = {
  SQLDatabase: class {
    constructor(readonly name: string, _options?: unknown) {}
    get connectionString(): string {
      const url = databases.get(this.name);
      if (!url) throw new Error(`the fake Encore runtime has no database ${this.name}`);
      return url;
    }
  },
};

const ERR_CODES = [
  "canceled", "unknown", "invalid_argument", "deadline_exceeded", "not_found", "already_exists", "permission_denied", "resource_exhausted",
  "failed_precondition", "aborted", "out_of_range", "unimplemented", "internal", "unavailable", "data_loss", "unauthenticated",
] as const;
const camel = (code: string) => code.replace(/(^|_)([a-z])/g, (_m, _s, c: string) => c.toUpperCase());

class APIError extends Error {
  details: unknown = null;
  constructor(readonly code: string, message: string) {
    super(message);
  }
  withDetails(details: unknown): APIError {
    this.details = details;
    return this;
  }
}

/** Encore's `api()` returns the handler itself (a direct call runs it in-process): so does this one. */
const api = Object.assign(<T>(_options: unknown, handler: T): T => handler, {
  raw: <T>(_options: unknown, handler: T): T => handler,
  streamInOut: <T>(_options: unknown, handler: T): T => handler,
});

export const apiModule = {
  api,
  APIError,
  ErrCode: Object.fromEntries(ERR_CODES.map((code) => [camel(code), code])),
  Gateway: class {
    constructor(readonly options: unknown) {}
  },
};

/** Every CronJob declared, as Encore's runtime would schedule them (never run here). */
export const cronJobs: { id: string; options: { title?: string; every?: string; schedule?: string; endpoint: unknown } }[] = ((
  globalThis as { __kilnEncoreCronJobs?: unknown }
).__kilnEncoreCronJobs ??= []) as never;

export const cronModule = {
  CronJob: class {
    constructor(id: string, options: (typeof cronJobs)[number]["options"]) {
      cronJobs.push({ id, options });
    }
  },
};

/** `~encore/auth`. */
export const authModule = {
  getAuthData: () => requestContext.getStore()?.authData,
};

/** `encore.dev/auth`: the handler is the function itself, called with the request's auth params. */
export const encoreAuthModule = {
  authHandler: <T>(handler: T): T => handler,
};

export const rootModule = {
  currentRequest: () => requestContext.getStore(),
};

function logger(fields: Record<string, unknown>) {
  const line = (level: string) => (message: string, more?: Record<string, unknown>) => {
    logLines.push({ level, message, fields: { ...fields, ...more } });
  };
  return {
    debug: line("debug"),
    info: line("info"),
    warn: line("warn"),
    // encore.dev/log takes error(message, fields) or error(err, message, fields).
    error: (first: unknown, second?: unknown, third?: Record<string, unknown>) =>
      typeof first === "string"
        ? logLines.push({ level: "error", message: first, fields: { ...fields, ...(second as Record<string, unknown>) } })
        : logLines.push({ level: "error", message: String(second), fields: { ...fields, ...third, err: first } }),
    with: (more: Record<string, unknown>) => logger({ ...fields, ...more }),
  };
}

export const logModule = { default: logger({}) };

/** A `~encore/clients` service object: every property is an endpoint call. */
function serviceClient(service: string) {
  return new Proxy({}, {
    get: (_target, endpoint: string) => async (request: unknown, opts?: { authData?: { userID: string } }) => {
      const source = requestContext.getStore() ?? null;
      clientCalls.push({ service, endpoint, request, source, authData: opts?.authData ?? source?.authData });
      const handler = clientHandlers.get(`${service}.${endpoint}`);
      if (!handler) throw new APIError("unavailable", `the fake ${service}.${endpoint} is not set up`);
      return handler(request, opts);
    },
  });
}

export const clientsModule = {
  projects: serviceClient("projects"),
  workspace: serviceClient("workspace"),
  vfs: serviceClient("vfs"),
  ai: serviceClient("ai"),
};

/** A connection string on which a service's tables resolve unqualified, as in the database Encore provisions. */
export function connectionStringFor(url: string, schema: string, kind: "postgres" | "pglite"): string {
  // PGlite is one shared session whose search_path already lists every schema; a server takes it per connection.
  if (kind === "pglite") return url;
  const parsed = new URL(url);
  parsed.searchParams.set("options", `-c search_path=${schema}`);
  return parsed.toString();
}
