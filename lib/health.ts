/** The outcome of one dependency check. */
export type CheckStatus = "ok" | "warn" | "fail";

/** One dependency of a service, checked. */
export interface HealthCheck {
  /** What was checked: "postgres", "mongodb", "sandbox", "service:vfs", ... */
  name: string;
  status: CheckStatus;
  /** What went wrong or what to know; never a secret. */
  detail?: string;
  latencyMs: number;
}

/** A service's health: `ok` when every check passed, `degraded` with warnings, `down` with any failure. */
export interface ServiceHealth {
  service: string;
  status: "ok" | "degraded" | "down";
  checks: HealthCheck[];
}

/** Times `probe`; a thrown error becomes a failed check carrying its message. */
export async function runCheck(
  name: string,
  probe: () => Promise<void | { status: CheckStatus; detail?: string }>,
): Promise<HealthCheck> {
  const started = performance.now();
  try {
    const outcome = await probe();
    const latencyMs = Math.round(performance.now() - started);
    return outcome ? { name, latencyMs, ...outcome } : { name, status: "ok", latencyMs };
  } catch (err) {
    const detail = err instanceof Error ? err.message : String(err);
    return { name, status: "fail", detail, latencyMs: Math.round(performance.now() - started) };
  }
}

/** Folds checks into a service health report. */
export function summarize(service: string, checks: HealthCheck[]): ServiceHealth {
  const status = checks.some((c) => c.status === "fail")
    ? "down"
    : checks.some((c) => c.status === "warn")
      ? "degraded"
      : "ok";
  return { service, status, checks };
}

/** Anything that answers a SQL query: a pg Pool or Client. */
export interface Queryable {
  query(sql: string): Promise<unknown>;
}

/** One round trip to a service's Postgres database. */
export function postgresCheck(db: Queryable): Promise<HealthCheck> {
  return runCheck("postgres", async () => {
    await db.query("SELECT 1");
  });
}

/** Another service's health, as one check of the caller (its failure is the caller's failure). */
export function serviceCheck(name: string, health: () => Promise<ServiceHealth>): Promise<HealthCheck> {
  return runCheck(`service:${name}`, async () => {
    const report = await health();
    if (report.status === "ok") return { status: "ok" };
    const failing = report.checks.filter((c) => c.status !== "ok").map((c) => `${c.name}: ${c.detail ?? c.status}`);
    return { status: report.status === "down" ? "fail" : "warn", detail: failing.join("; ") };
  });
}
