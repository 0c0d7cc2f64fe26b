import { describe, expect, it } from "vitest";
import { ConfigError, configTable, loadConfig } from "./config";

describe("configuration", () => {
  it("has documented defaults when nothing is set", () => {
    const config = loadConfig({});
    expect(config).toMatchObject({ port: 4000, host: "127.0.0.1", dataDir: "./.kiln", logLevel: "info", bodyLimitBytes: 2097152 });
    expect(config.databaseUrl).toBeUndefined();
  });

  it("names every bad variable and says what is wrong, without echoing URLs that may hold passwords", () => {
    let error: unknown;
    try {
      loadConfig({ PORT: "eighty", LOG_LEVEL: "loud", DATABASE_URL: "mysql://root:hunter2@db/kiln", MONGODB_URI: "::not a url::" });
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(ConfigError);
    const problems = (error as ConfigError).problems;
    expect(problems).toEqual([
      'PORT: must be an integer from 0 to 65535, got "eighty"',
      "DATABASE_URL: must use postgres:// or postgresql://, got mysql://",
      "MONGODB_URI: must be a URL (the value is not shown: it may hold a password)",
      'LOG_LEVEL: must be one of trace, debug, info, warn, error, fatal, silent, got "loud"',
    ]);
    expect((error as Error).message).not.toContain("hunter2");
  });

  it("accepts valid values", () => {
    const config = loadConfig({ PORT: "0", DATABASE_URL: "postgres://127.0.0.1:5432/test", KILN_BODY_LIMIT_BYTES: "4096" });
    expect(config.port).toBe(0);
    expect(config.databaseUrl).toBe("postgres://127.0.0.1:5432/test");
    expect(config.bodyLimitBytes).toBe(4096);
  });

  it("is documented in the README, row for row", async () => {
    const { readFile } = await import("node:fs/promises");
    const readme = await readFile(new URL("../README.md", import.meta.url), "utf8");
    expect(readme).toContain(configTable());
  });
});
