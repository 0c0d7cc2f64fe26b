import type pg from "pg";
import { newId } from "../lib/ids";
import { issueToken, type IssuedToken } from "./tokens";

/**
 * On a machine's first start (no user yet), creates the local user and its first token: the value of
 * `KILN_BOOTSTRAP_TOKEN` when given, else a new random one. Returns the token to show once, or null
 * when users already exist. Safe when several processes start together.
 */
export async function bootstrapLocalUser(db: pg.Pool, token?: string): Promise<IssuedToken | null> {
  const client = await db.connect();
  try {
    await client.query("BEGIN");
    await client.query("SELECT pg_advisory_xact_lock(hashtext('kiln-bootstrap'))");
    const existing = await client.query("SELECT 1 FROM users LIMIT 1");
    if (existing.rowCount) {
      await client.query("COMMIT");
      return null;
    }
    const userID = newId("usr");
    await client.query("INSERT INTO users (id, name) VALUES ($1, $2)", [userID, "local"]);
    const issued = await issueToken(client, userID, "bootstrap", token);
    await client.query("COMMIT");
    return issued;
  } catch (err) {
    await client.query("ROLLBACK").catch(() => undefined);
    throw err;
  } finally {
    client.release();
  }
}

/** Creates a user (tests and administration). */
export async function createUser(db: pg.Pool, name: string): Promise<string> {
  const id = newId("usr");
  await db.query("INSERT INTO users (id, name) VALUES ($1, $2)", [id, name]);
  return id;
}
