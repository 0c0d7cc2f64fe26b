import { afterAll, beforeAll, beforeEach, describe, expect, it, vi } from "vitest";
import { openTestDatabase, type TestDatabase } from "../test/support/database";
import * as fake from "../test/support/encore-fake";
import { hashToken } from "./tokens";

vi.mock("encore.dev/config", async () => (await import("../test/support/encore-fake")).configModule);
vi.mock("encore.dev/storage/sqldb", async () => (await import("../test/support/encore-fake")).sqldbModule);
vi.mock("encore.dev/api", async () => (await import("../test/support/encore-fake")).apiModule);
vi.mock("encore.dev/auth", async () => (await import("../test/support/encore-fake")).encoreAuthModule);
vi.mock("encore.dev/log", async () => (await import("../test/support/encore-fake")).logModule);
vi.mock("~encore/clients", async () => (await import("../test/support/encore-fake")).clientsModule);

const SECRET = "kiln_bootstrap_secret_for_encore_tests";
let database: TestDatabase;

beforeAll(async () => {
  database = await openTestDatabase("projects");
});
afterAll(async () => database.close());

beforeEach(async () => {
  vi.resetModules();
  fake.resetEncoreFake();
  fake.databases.set("projects", fake.connectionStringFor(database.databases.url, database.databases.schema("projects"), database.databases.kind));
  await database.pool.query("DELETE FROM api_tokens");
  await database.pool.query("DELETE FROM users");
});

/** One instance of the projects service starting under Encore: its auth handler, once its first start is done. */
async function startInstance() {
  const wiring = await import("./encore-wiring");
  const { auth } = await import("./encore-auth");
  return { wiring, auth, ready: wiring.bootstrapped };
}

const rows = async () => ({
  users: (await database.pool.query("SELECT name FROM users")).rows,
  tokens: (await database.pool.query("SELECT name, token_hash FROM api_tokens")).rows,
});

describe("the first user under Encore", () => {
  it("is created on first start with the KilnBootstrapToken secret as its token, which the auth handler accepts", async () => {
    fake.secrets.set("KilnBootstrapToken", SECRET);
    const instance = await startInstance();
    await instance.ready;
    expect(await rows()).toEqual({ users: [{ name: "local" }], tokens: [{ name: "bootstrap", token_hash: hashToken(SECRET) }] });
    const user = (await database.pool.query<{ id: string }>("SELECT id FROM users")).rows[0]!;
    await expect(instance.auth({ authorization: `Bearer ${SECRET}` })).resolves.toEqual({ userID: user.id });
    await expect(instance.auth({ authorization: "Bearer kiln_not_the_secret" })).rejects.toMatchObject({ code: "unauthenticated" });
    expect(fake.logLines.some((l) => l.message === "created the local user with the token from the KilnBootstrapToken secret")).toBe(true);
  });

  it("is created once when several instances start together, and later starts change nothing", async () => {
    fake.secrets.set("KilnBootstrapToken", SECRET);
    const starting: Promise<void>[] = [];
    for (let i = 0; i < 3; i++) {
      vi.resetModules();
      starting.push((await startInstance()).ready);
    }
    await Promise.all(starting);
    expect(await rows()).toEqual({ users: [{ name: "local" }], tokens: [{ name: "bootstrap", token_hash: hashToken(SECRET) }] });

    // A restart with another value: the secret is for the first start only.
    vi.resetModules();
    fake.secrets.set("KilnBootstrapToken", `${SECRET}_changed`);
    const restarted = await startInstance();
    await restarted.ready;
    expect((await rows()).tokens).toHaveLength(1);
    await expect(restarted.auth({ authorization: `Bearer ${SECRET}_changed` })).rejects.toMatchObject({ code: "unauthenticated" });
    await expect(restarted.auth({ authorization: `Bearer ${SECRET}` })).resolves.toHaveProperty("userID");
  });

  it("without the secret: no token is made up (Encore keeps the logs), and the log says how to get one", async () => {
    const instance = await startInstance();
    await instance.ready;
    expect(await rows()).toEqual({ users: [], tokens: [] });
    const warning = fake.logLines.find((l) => l.level === "warn" && l.message.startsWith("no user yet"));
    expect(warning?.message).toContain("KilnBootstrapToken secret is not set");
    expect(warning?.message).toContain('npm run token -- create --database-url "$(encore db conn-uri projects)"');
  });

  it("a secret too short to be a token is refused, loudly, and creates nothing", async () => {
    fake.secrets.set("KilnBootstrapToken", "short");
    const instance = await startInstance();
    await instance.ready;
    expect(await rows()).toEqual({ users: [], tokens: [] });
    const refusal = fake.logLines.find((l) => l.message === "the KilnBootstrapToken secret is not used");
    expect(refusal).toMatchObject({ level: "error" });
    expect(String(refusal?.fields.reason)).toContain("at least 20 characters");
  });
});
