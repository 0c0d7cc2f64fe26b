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

function portRange(name: string, description: string, fallback: [number, number]): VariableSpec<[number, number]> {
  return {
    name,
    description,
    defaultText: `${fallback[0]}-${fallback[1]}`,
    parse(raw) {
      if (raw === undefined || raw.trim() === "") return fallback;
      const match = /^(\d{1,5})-(\d{1,5})$/.exec(raw.trim());
      const low = Number(match?.[1]);
      const high = Number(match?.[2]);
      if (!match || low < 1 || high > 65535 || low > high) throw new VariableProblem(`must be a port range like 4100-4199, got ${JSON.stringify(raw)}`);
      return [low, high];
    },
  };
}

function optionalText(name: string, description: string): VariableSpec<string | undefined> {
  return { name, description, parse: (raw) => (raw?.trim() ? raw.trim() : undefined) };
}

function flag(name: string, description: string, fallback: boolean): VariableSpec<boolean> {
  return {
    name,
    description,
    defaultText: String(fallback),
    parse(raw) {
      if (raw === undefined || raw.trim() === "") return fallback;
      if (/^(true|1|yes)$/i.test(raw.trim())) return true;
      if (/^(false|0|no)$/i.test(raw.trim())) return false;
      throw new VariableProblem(`must be true or false, got ${JSON.stringify(raw)}`);
    },
  };
}

function schemaPrefix(name: string, description: string): VariableSpec<string> {
  return {
    name,
    description,
    defaultText: "(none)",
    parse(raw) {
      const value = raw?.trim() ?? "";
      if (!/^([a-z][a-z0-9_]{0,30})?$/.test(value)) throw new VariableProblem(`must be lower-case letters, digits and underscores, got ${JSON.stringify(raw)}`);
      return value;
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
  schemaPrefix: schemaPrefix("KILN_SCHEMA_PREFIX", "Prefix of every service's schema name, to keep several Kilns on one Postgres apart"),
  dbPoolSize: integer("KILN_DB_POOL_SIZE", "Postgres connections each service's pool may open in one process (projects, workspace and ai: up to three times this, plus one LISTEN connection)", 10, 1, 200),
  mongodbUri: connectionUrl("MONGODB_URI", "MongoDB holding the vfs (GridFS)", ["mongodb", "mongodb+srv"], "MongoDBURI"),
  mongodbDatabase: text("KILN_MONGODB_DATABASE", "Database name of the vfs in MongoDB", "kiln"),
  bootstrapToken: secretText(
    "KILN_BOOTSTRAP_TOKEN",
    "First start only: the API token of the local user, instead of a random one printed once",
    20,
    "KilnBootstrapToken",
  ),
  anthropicApiKey: secretText("ANTHROPIC_API_KEY", "Claude API key (required by npm start; never enters a sandbox)", 8, "AnthropicAPIKey"),
  anthropicBaseUrl: connectionUrl("ANTHROPIC_BASE_URL", "Another server speaking the Messages API (tests, the offline demo)", ["http", "https"]),
  model: text("KILN_MODEL", "Claude model of the agent", "claude-sonnet-5-5"),
  maxTurns: integer("KILN_MAX_TURNS", "Model turns per generation", 60, 1, 1000),
  maxOutputTokens: integer("KILN_MAX_OUTPUT_TOKENS", "Output tokens per model response", 16_000, 256, 128_000),
  tokenBudget: integer("KILN_TOKEN_BUDGET", "Input + output tokens per generation", 3_000_000, 1000, 1_000_000_000),
  runTimeoutMs: integer("KILN_RUN_TIMEOUT_MS", "Limit on the agent's time per generation, summed over every attempt of the job (generation_jobs.agent_ms, carried across resumes); time waiting for an approval, preparing the workspace or with no runner holding the job not counted", 30 * 60_000, 1000, 24 * 3_600_000),
  approvalTimeoutSeconds: integer("KILN_APPROVAL_TIMEOUT_SECONDS", "How long a tool call waits for the user's approval (approval mode) before it counts as denied", 900, 1, 7 * 86_400),
  checkTimeoutSeconds: integer("KILN_CHECK_TIMEOUT_SECONDS", "How long each of an app's checks (typecheck, build, lint) may run", 180, 5, 3600),
  browserCheckTimeoutMs: integer("KILN_BROWSER_CHECK_TIMEOUT_MS", "How long loading the preview in the check's browser may take", 20_000, 1000, 300_000),
  maxFailedCompletions: integer("KILN_MAX_FAILED_COMPLETIONS", "Completions refused by failing checks before a generation ends failed", 3, 1, 100),
  loopWarnRepeats: integer("KILN_LOOP_WARN_REPEATS", "Identical failing tool calls in a row before the agent is told to change approach", 3, 1, 100),
  loopStopRepeats: integer("KILN_LOOP_STOP_REPEATS", "Identical failing tool calls in a row that stop a generation", 5, 1, 1000),
  chromiumPath: optionalText("CHROMIUM_PATH", "Chromium binary of the self-check's browser (default: the one in the npm package @sparticuz/chromium)"),
  defaultTemplate: text("KILN_DEFAULT_TEMPLATE", "The template a new project gets when its creator names none (a directory of templates/, or blank)", "vite-react"),
  templateCache: text("KILN_TEMPLATE_CACHE", "Where local sandboxes' template dependencies are installed once and shared; Kiln's alone. Unset: under KILN_DATA_DIR", ""),
  warmPool: integer("KILN_WARM_POOL", "Spare workspaces kept running per template with a dev server, so a new project's preview answers at once (each is an idle dev server)", 1, 0, 8),
  workspacePollMs: integer("KILN_WORKSPACE_POLL_MS", "The longest pause between two looks of a generation at a workspace that is not running yet (the first is at once, then 25 ms doubling)", 2000, 10, 60_000),
  workspaceReadyTimeoutMs: integer("KILN_WORKSPACE_READY_TIMEOUT_MS", "How long a generation waits for its workspace", 120_000, 100, 3_600_000),
  runnerLeaseMs: integer("KILN_RUNNER_LEASE_MS", "How long a runner's claim on a job lasts without a heartbeat", 30_000, 100, 3_600_000),
  runnerConcurrency: integer("KILN_RUNNER_CONCURRENCY", "Generations one process runs at once", 4, 0, 256),
  runnerMaxResumes: integer("KILN_RUNNER_MAX_RESUMES", "Times a generation whose server died is resumed by another before it is failed", 3, 0, 100),
  daytonaApiKey: secretText("DAYTONA_API_KEY", "Daytona API key; when set, sandboxes run on Daytona", 8, "DaytonaAPIKey"),
  daytonaApiUrl: connectionUrl("DAYTONA_API_URL", "Daytona API endpoint (default: Daytona's cloud)", ["http", "https"]),
  daytonaTarget: optionalText("DAYTONA_TARGET", "Daytona region (default: the organisation's)"),
  daytonaAutoStopMinutes: integer("KILN_DAYTONA_AUTO_STOP_MINUTES", "Idle minutes before Daytona stops a sandbox (0 never)", 15, 0, 7 * 24 * 60),
  daytonaAutoArchiveMinutes: integer("KILN_DAYTONA_AUTO_ARCHIVE_MINUTES", "Minutes a sandbox stays stopped before Daytona archives it (at most 43200; 0: that most)", 7 * 24 * 60, 0, 43_200),
  daytonaPublic: flag("KILN_DAYTONA_PUBLIC", "Make Daytona previews public: anyone with the URL (default: private, browsers get signed preview URLs)", false),
  daytonaPreviewTtlSeconds: integer("KILN_DAYTONA_PREVIEW_TTL_SECONDS", "How long a signed Daytona preview URL opens the preview", 3600, 60, 86_400),
  daytonaRestoreTimeoutMinutes: integer("KILN_DAYTONA_RESTORE_TIMEOUT_MINUTES", "How long an archived Daytona sandbox may take to restore before its workspace is in error", 45, 1, 24 * 60),
  gitImportMaxBytes: integer("KILN_GIT_IMPORT_MAX_BYTES", "The largest git repository an import takes: its files' total bytes, and its download", 100 * 1024 * 1024, 1024, 10 * 1024 * 1024 * 1024),
  gitImportMaxFiles: integer("KILN_GIT_IMPORT_MAX_FILES", "The most files a git import takes", 5000, 1, 1_000_000),
  sharePort: {
    name: "KILN_SHARE_PORT",
    description: "Port of the share listener, where each share link opens on a host of its own (unset: links only under /s/ on PORT)",
    parse(raw: string | undefined): number | undefined {
      if (raw === undefined || raw.trim() === "") return undefined;
      const port = Number(raw.trim());
      if (!Number.isInteger(port) || port < 0 || port > 65535) throw new VariableProblem(`must be a port from 0 to 65535, got ${JSON.stringify(raw)}`);
      return port;
    },
  },
  shareOrigin: connectionUrl("KILN_SHARE_ORIGIN", "Public origin of the share listener; each link is a subdomain of its host (default: http://share.localhost:KILN_SHARE_PORT)", ["http", "https"]),
  gitMaxConcurrent: integer("KILN_GIT_MAX_CONCURRENT", "Git imports and pushes running at once in one server process, everyone's (more: 429)", 4, 1, 1000),
  gitMaxConcurrentPerOwner: integer("KILN_GIT_MAX_CONCURRENT_PER_OWNER", "Git imports and pushes one user may have running at once (more: 429)", 2, 1, 1000),
  maintenanceIntervalMs: integer("KILN_MAINTENANCE_INTERVAL_MS", "How often orphan sandboxes and unused blobs are swept (0: never)", 600_000, 0, 24 * 3_600_000),
  sandbox: oneOf("KILN_SANDBOX", "Sandbox provider: daytona or local (default: daytona when DAYTONA_API_KEY is set)", "auto", ["auto", "local", "daytona"] as const),
  sandboxIsolation: oneOf(
    "KILN_SANDBOX_ISOLATION",
    "Local sandboxes: bubblewrap (own namespaces and network; refused when it cannot be built) or none (UNCONFINED: generated code runs on this machine)",
    "bubblewrap",
    ["bubblewrap", "none"] as const,
  ),
  previewPorts: portRange("KILN_PREVIEW_PORTS", "Ports handed to dev servers, one per live workspace", [4100, 4199]),
  previewHost: text("KILN_PREVIEW_HOST", "Host the browser reaches local dev servers on", "127.0.0.1"),
  terminalScrollbackBytes: integer("KILN_TERMINAL_SCROLLBACK_BYTES", "Output a terminal keeps for the next attach (a reconnect shows it first)", 256 * 1024, 1024, 64 * 1024 * 1024),
  terminalIdleTimeoutMs: integer("KILN_TERMINAL_IDLE_TIMEOUT_MS", "A terminal with no input for this long is closed", 30 * 60_000, 1000, 24 * 3_600_000),
  terminalsPerWorkspace: integer("KILN_TERMINALS_PER_WORKSPACE", "Live terminals one workspace may have", 4, 1, 64),
  terminalMaxInputBytes: integer("KILN_TERMINAL_MAX_INPUT_BYTES", "The largest terminal input message (a paste), in bytes", 64 * 1024, 16, 16 * 1024 * 1024),
  terminalBackupIntervalMs: integer("KILN_TERMINAL_BACKUP_INTERVAL_MS", "How often the files of a terminal that had input are backed up to the vfs (also when it closes)", 60_000, 1000, 24 * 3_600_000),
  otelEndpoint: connectionUrl("OTEL_EXPORTER_OTLP_ENDPOINT", "OpenTelemetry collector for traces (OTLP/HTTP); unset: no export", ["http", "https"]),
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

/** The README's configuration table, one row per variable (a test keeps the README in step with it). */
export function configTable(): string {
  const rows = Object.values(VARIABLES).map((spec: VariableSpec<unknown>) => {
    const secret = spec.encoreSecret ? `\`${spec.encoreSecret}\`` : "";
    return `| \`${spec.name}\` | ${secret} | ${spec.defaultText ?? "unset"} | ${spec.description} |`;
  });
  return ["| variable | Encore secret | default | meaning |", "| --- | --- | --- | --- |", ...rows].join("\n");
}
