/**
 * Kiln's configuration, read from the environment once at start and validated: a bad value stops the
 * process with a message naming the variable and what is wrong with it. Under Encore, the variables
 * marked with a secret are read from Encore secrets of that name instead.
 */

/** One environment variable Kiln reads. */
export interface VariableSpec<T> {
  name: string;
  /** The Encore secret that carries the same value under `encore run`, if any. */
  encoreSecret?: string;
  description: string;
  /** The default, as documented (undefined: unset means "not configured"). */
  defaultText?: string;
  parse(raw: string | undefined): T;
}

/** Thrown when one or more variables are invalid; `problems` lists each as "NAME: what is wrong". */
export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`invalid configuration:\n  ${problems.join("\n  ")}`);
    this.name = "ConfigError";
  }
}

class VariableProblem extends Error {}

function integer(name: string, description: string, fallback: number, min: number, max: number): VariableSpec<number> {
  return {
    name,
    description,
    defaultText: String(fallback),
    parse(raw) {
      if (raw === undefined || raw.trim() === "") return fallback;
      const value = Number(raw);
      if (!Number.isInteger(value) || value < min || value > max) {
        throw new VariableProblem(`must be an integer from ${min} to ${max}, got ${JSON.stringify(raw)}`);
      }
      return value;
    },
  };
}

function text(name: string, description: string, fallback: string): VariableSpec<string> {
  return { name, description, defaultText: fallback, parse: (raw) => (raw?.trim() ? raw.trim() : fallback) };
}

function oneOf<T extends string>(name: string, description: string, fallback: T, allowed: readonly T[]): VariableSpec<T> {
  return {
    name,
    description,
    defaultText: fallback,
    parse(raw) {
      const value = raw?.trim() || fallback;
      if (!(allowed as readonly string[]).includes(value)) {
        throw new VariableProblem(`must be one of ${allowed.join(", ")}, got ${JSON.stringify(raw)}`);
      }
      return value as T;
    },
  };
}

function secretText(name: string, description: string, minLength: number, encoreSecret?: string): VariableSpec<string | undefined> {
  return {
    name,
    description,
    encoreSecret,
    parse(raw) {
      if (raw === undefined || raw.trim() === "") return undefined;
      if (raw.trim().length < minLength || /\s/.test(raw.trim())) {
        throw new VariableProblem(`must be at least ${minLength} characters without spaces (the value is not shown)`);
      }
      return raw.trim();
    },
  };
}

function connectionUrl(
  name: string,
  description: string,
  schemes: readonly string[],
  encoreSecret?: string,
): VariableSpec<string | undefined> {
  return {
    name,
    description,
    encoreSecret,
    parse(raw) {
      if (raw === undefined || raw.trim() === "") return undefined;
      let url: URL;
      try {
        url = new URL(raw.trim());
      } catch {
        throw new VariableProblem("must be a URL (the value is not shown: it may hold a password)");
      }
      if (!schemes.includes(url.protocol.replace(/:$/, ""))) {
        throw new VariableProblem(`must use ${schemes.map((s) => `${s}://`).join(" or ")}, got ${url.protocol}//`);
      }
      return raw.trim();
    },
  };
}

/** Every variable Kiln reads, in the order the README documents them. */
export const VARIABLES = {
  port: integer("PORT", "HTTP port of the standalone server (0 picks a free port)", 4000, 0, 65535),
  host: text("HOST", "Interface the standalone server listens on", "127.0.0.1"),
  dataDir: text("KILN_DATA_DIR", "Where local state lives: the embedded Postgres, local sandboxes", "./.kiln"),
  databaseUrl: connectionUrl(
    "DATABASE_URL",
    "Postgres server; one schema per service. Unset: embedded PGlite under KILN_DATA_DIR",
    ["postgres", "postgresql"],
  ),
  mongodbUri: connectionUrl("MONGODB_URI", "MongoDB holding the vfs (GridFS)", ["mongodb", "mongodb+srv"], "MongoDBURI"),
  mongodbDatabase: text("KILN_MONGODB_DATABASE", "Database name of the vfs in MongoDB", "kiln"),
  bootstrapToken: secretText(
    "KILN_BOOTSTRAP_TOKEN",
    "First start only: the API token of the local user, instead of a random one printed once",
    20,
    "KilnBootstrapToken",
  ),
  logLevel: oneOf("LOG_LEVEL", "Log level of the standalone server", "info", [
    "trace",
    "debug",
    "info",
    "warn",
    "error",
    "fatal",
    "silent",
  ] as const),
  bodyLimitBytes: integer("KILN_BODY_LIMIT_BYTES", "Largest accepted request body (Encore's default: 2 MiB)", 2 * 1024 * 1024, 1024, 1024 ** 3),
  shutdownTimeoutMs: integer("KILN_SHUTDOWN_TIMEOUT_MS", "How long shutdown waits for in-flight requests", 10_000, 0, 600_000),
} satisfies Record<string, VariableSpec<unknown>>;

type Variables = typeof VARIABLES;

/** The validated configuration. */
export type Config = { [K in keyof Variables]: ReturnType<Variables[K]["parse"]> };

/** Reads and validates every variable; throws one ConfigError listing every problem found. */
export function loadConfig(env: Record<string, string | undefined> = process.env): Config {
  const problems: string[] = [];
  const config: Record<string, unknown> = {};
  for (const [key, spec] of Object.entries(VARIABLES) as [keyof Config, VariableSpec<unknown>][]) {
    try {
      config[key] = spec.parse(env[spec.name]);
    } catch (err) {
      if (!(err instanceof VariableProblem)) throw err;
      problems.push(`${spec.name}: ${err.message}`);
    }
  }
  if (problems.length > 0) throw new ConfigError(problems);
  return config as Config;
}
