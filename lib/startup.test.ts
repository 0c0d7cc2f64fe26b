import { describe, expect, it } from "vitest";
import { memoryLogger } from "../test/support/kiln";
import { AppError } from "./errors";
import { summarize, type ServiceHealth } from "./health";
import { isUnreachable, missingSecret, retryStart, secretValue, startInBackground } from "./startup";

const refused = () => Object.assign(new Error("connect ECONNREFUSED 127.0.0.1:5432"), { code: "ECONNREFUSED" });
const policy = { attempts: 4, firstDelayMs: 100, maxDelayMs: 250 };

/** A sleep that returns at once and remembers what it was asked to wait. */
function recordedSleep() {
  const waits: number[] = [];
  return { waits, sleep: async (ms: number) => void waits.push(ms) };
}

interface Greeter {
  health(): Promise<ServiceHealth>;
  greet(req: { name: string }): Promise<string>;
}

const greeter: Greeter = {
  health: async () => summarize("greeter", [{ name: "postgres", status: "ok", latencyMs: 1 }]),
  greet: async (req) => `hello ${req.name}`,
};

describe("retryStart", () => {
  it("retries a failed start with doubling waits up to the cap, logging each failure, and returns the result", async () => {
    const { log, lines } = memoryLogger("debug");
    const { waits, sleep } = recordedSleep();
    let calls = 0;
    const result = await retryStart("the database", async () => {
      if (++calls < 4) throw refused();
      return "open";
    }, { log, policy, sleep });
    expect(result).toBe("open");
    expect(waits).toEqual([100, 200, 250]);
    const retries = lines.filter((l) => l.msg === "the database could not start yet; retrying");
    expect(retries.map((l) => [l.attempt, l.retryInMs])).toEqual([[1, 100], [2, 200], [3, 250]]);
    expect(retries[0]).toMatchObject({ attempts: 4, level: 40 });
    expect((retries[0]!.err as { message: string }).message).toContain("ECONNREFUSED");
    expect(lines.some((l) => l.msg === "the database started" && l.attempt === 4)).toBe(true);
  });

  it("is bounded: after the last attempt it throws the last error and logs it as an error", async () => {
    const { log, lines } = memoryLogger("debug");
    const { waits, sleep } = recordedSleep();
    let calls = 0;
    await expect(retryStart("the database", async () => {
      calls++;
      throw refused();
    }, { log, policy, sleep })).rejects.toThrow("ECONNREFUSED");
    expect(calls).toBe(4);
    expect(waits).toHaveLength(3);
    expect(lines.filter((l) => l.msg === "the database failed to start")).toHaveLength(1);
  });

  it("does not retry what no retry fixes: a missing secret, or a failure the caller calls permanent", async () => {
    const { log } = memoryLogger("debug");
    const { waits, sleep } = recordedSleep();
    await expect(retryStart("vfs", async () => {
      throw missingSecret("mongodb", "MongoDBURI", "the vfs keeps every file in MongoDB");
    }, { log, policy, sleep })).rejects.toThrow(/MongoDBURI secret is not set/);
    await expect(retryStart("db", async () => {
      throw new Error("syntax error at or near SELEC");
    }, { log, policy, sleep, retryable: isUnreachable })).rejects.toThrow("syntax error");
    expect(waits).toEqual([]);
  });

  it("knows an unreachable server from a broken request", () => {
    expect(isUnreachable(refused())).toBe(true);
    expect(isUnreachable(Object.assign(new Error("getaddrinfo ENOTFOUND db"), { code: "ENOTFOUND" }))).toBe(true);
    expect(isUnreachable(Object.assign(new Error("the database system is starting up"), { code: "57P03" }))).toBe(true);
    expect(isUnreachable(Object.assign(new Error("x"), { name: "MongoServerSelectionError" }))).toBe(true);
    expect(isUnreachable(Object.assign(new Error('relation "users" does not exist'), { code: "42P01" }))).toBe(false);
  });

  it("reads an unset secret as empty, whether the runtime returns \"\" or throws", () => {
    expect(secretValue(() => " key ")).toBe("key");
    expect(secretValue(() => "")).toBe("");
    expect(secretValue(() => {
      throw new Error("secret MongoDBURI is not set");
    })).toBe("");
  });
});

describe("startInBackground", () => {
  it("while its dependency is down: health is down with the reason, calls answer unavailable with the same words; then it comes up", async () => {
    const { log } = memoryLogger("debug");
    let up = false;
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    const starting = startInBackground<Greeter>({
      service: "greeter",
      methods: ["greet"],
      start: async () => {
        if (!up) throw refused();
        return greeter;
      },
      log,
      policy: { attempts: 50, firstDelayMs: 10, maxDelayMs: 10 },
      sleep: () => gate.then(() => new Promise((resolve) => setTimeout(resolve, 5))),
    });

    const health = await starting.api.health();
    expect(health).toMatchObject({ service: "greeter", status: "down", checks: [{ name: "startup", status: "fail" }] });
    expect(health.checks[0]!.detail).toMatch(/^the greeter service is still starting: connect ECONNREFUSED/);
    const error = await starting.api.greet({ name: "a" }).catch((err: unknown) => err);
    expect(error).toBeInstanceOf(AppError);
    expect(error).toMatchObject({ code: "unavailable", message: `${health.checks[0]!.detail}` });

    up = true;
    release();
    await expect.poll(() => starting.api.greet({ name: "b" }).catch(() => "down"), { timeout: 2000, interval: 10 }).toBe("hello b");
    expect((await starting.api.health()).status).toBe("ok");
  });

  it("never caches a failed start: after a round gives up, the next call starts another", async () => {
    const { log, lines } = memoryLogger("debug");
    let attempts = 0;
    let up = false;
    const starting = startInBackground<Greeter>({
      service: "greeter",
      methods: ["greet"],
      start: async () => {
        attempts++;
        if (!up) throw refused();
        return greeter;
      },
      log,
      policy: { attempts: 2, firstDelayMs: 1, maxDelayMs: 1 },
    });
    await expect.poll(() => lines.some((l) => l.msg === "the greeter service failed to start"), { timeout: 2000, interval: 5 }).toBe(true);
    const afterFirstRound = attempts;
    expect(afterFirstRound).toBe(2);
    up = true;
    await expect(starting.api.greet({ name: "c" })).resolves.toBe("hello c");
    expect(attempts).toBe(afterFirstRound + 1);
  });

  it("a missing secret is final: named by its own check in health and in every call's error, never retried", async () => {
    const { log } = memoryLogger("debug");
    let attempts = 0;
    const starting = startInBackground<Greeter>({
      service: "vfs",
      methods: ["greet"],
      start: async () => {
        attempts++;
        throw missingSecret("mongodb", "MongoDBURI", "the vfs keeps every file in MongoDB");
      },
      log,
      policy: { attempts: 5, firstDelayMs: 1, maxDelayMs: 1 },
    });
    const health = await starting.api.health();
    expect(health).toMatchObject({ service: "vfs", status: "down", checks: [{ name: "mongodb", status: "fail" }] });
    expect(health.checks[0]!.detail).toMatch(/^the MongoDBURI secret is not set \(the vfs keeps every file in MongoDB\): set it with `encore secret set --type local MongoDBURI`/);
    await expect(starting.api.greet({ name: "d" })).rejects.toMatchObject({ code: "unavailable", message: health.checks[0]!.detail });
    await starting.api.health();
    expect(attempts).toBe(1);
  });
});
