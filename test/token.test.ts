import { execFile } from "node:child_process";
import { randomBytes } from "node:crypto";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { afterAll, describe, expect, it } from "vitest";
import { client } from "./support/http";
import { searchableTempDir } from "./support/isolation";
import { startTestKiln, type TestKiln } from "./support/kiln";

const run = promisify(execFile);
const TOKEN_SCRIPT = fileURLToPath(new URL("../scripts/token.ts", import.meta.url));

let first: TestKiln | undefined;
let second: TestKiln | undefined;
afterAll(async () => {
  await second?.close();
  await first?.close();
});

describe(`npm run token (${process.env.DATABASE_URL ? "PostgreSQL server" : "embedded PGlite"})`, () => {
  it("creates the token in the schemas of KILN_SCHEMA_PREFIX, and the server with that prefix accepts it", async () => {
    const prefix = `t${randomBytes(4).toString("hex")}_`;
    const env = { MONGODB_URI: undefined, KILN_DATA_DIR: await searchableTempDir("kiln-token-"), KILN_SCHEMA_PREFIX: prefix };
    // The database outlives this server (on disk without DATABASE_URL): the script opens it once it stopped.
    first = await startTestKiln(env, { inMemoryDatabase: false });
    const { userID } = await first.createUser("owner");
    await first.shutdown();

    const { stdout } = await run(process.execPath, ["--import", "tsx", TOKEN_SCRIPT, "create", "from-cli"], {
      env: { ...process.env, KILN_DATA_DIR: env.KILN_DATA_DIR, KILN_SCHEMA_PREFIX: prefix },
    });
    const [token, note] = stdout.split("\n");
    const id = /^\(id (\S+);/.exec(note ?? "")?.[1];

    second = await startTestKiln(env, { inMemoryDatabase: false });
    const stored = await second.kiln.databases.pool("projects").query(`SELECT user_id, name FROM "${prefix}projects".api_tokens WHERE id = $1`, [id]);
    expect(stored.rows).toEqual([{ user_id: userID, name: "from-cli" }]);
    const tokens = await client(second.url, token).call("GET", "/projects/tokens");
    expect(tokens.status).toBe(200);
    expect(tokens.body.tokens.map((t: { id: string }) => t.id)).toContain(id);
  }, 90_000);
});
