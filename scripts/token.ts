/**
 * Manages the local user's API tokens from the shell:
 *   npm run token -- create [name]    prints a new token once (and creates the local user if there is none)
 *   npm run token -- list             prefix, name, created, last used, revoked
 *   npm run token -- revoke <id>
 *
 * By default it opens the databases as the standalone server names them (DATABASE_URL or the embedded
 * one, KILN_SCHEMA_PREFIX included). With `--database-url <url>` it uses the projects database at
 * that URL as it is, the one Encore provisions (`encore db conn-uri projects` while `encore run` runs):
 * its tables are Encore's to migrate, so nothing is created there but users and tokens.
 */
import pg from "pg";
import { loadConfig } from "../lib/config";
import { AppError } from "../lib/errors";
import { createPinoLogger } from "../lib/log";
import { createToken, listTokens, revokeToken } from "../projects/tokens";
import { bootstrapLocalUser } from "../projects/users";
import { openKilnDatabases } from "../server/compose";

const USAGE = "usage: npm run token -- [--database-url <url>] create [name] | list | revoke <id>";

/** The command line: `--database-url <url>` (or `=url`) anywhere, then the command and its argument. */
function parseArgs(args: string[]): { databaseUrl?: string; command?: string; argument?: string } {
  const rest: string[] = [];
  let databaseUrl: string | undefined;
  for (let i = 0; i < args.length; i++) {
    const arg = args[i]!;
    if (arg === "--database-url") databaseUrl = args[++i] ?? "";
    else if (arg.startsWith("--database-url=")) databaseUrl = arg.slice("--database-url=".length);
    else rest.push(arg);
  }
  return { databaseUrl, command: rest[0], argument: rest[1] };
}

/** The projects pool to work on, and how to let it go. */
async function openProjects(databaseUrl: string | undefined): Promise<{ db: pg.Pool; close(): Promise<void> }> {
  if (databaseUrl === undefined) {
    const databases = await openKilnDatabases(loadConfig(), createPinoLogger("warn"));
    return { db: databases.pool("projects"), close: () => databases.close() };
  }
  if (!/^postgres(ql)?:\/\//.test(databaseUrl)) throw new AppError("invalid_argument", "--database-url must be a postgres:// URL, e.g. the output of `encore db conn-uri projects`");
  const db = new pg.Pool({ connectionString: databaseUrl, max: 2 });
  try {
    const tables = await db.query<{ users: string | null; tokens: string | null }>("SELECT to_regclass('users')::text AS users, to_regclass('api_tokens')::text AS tokens");
    if (!tables.rows[0]?.users || !tables.rows[0]?.tokens) {
      throw new AppError(
        "failed_precondition",
        "that database has no Kiln users and api_tokens tables: give the projects database (`encore db conn-uri projects`, with `encore run` running so that Encore has applied its migrations)",
      );
    }
  } catch (err) {
    await db.end();
    throw err;
  }
  return { db, close: () => db.end() };
}

async function main(args: string[]): Promise<number> {
  const { databaseUrl, command, argument } = parseArgs(args);
  if (command !== "create" && command !== "list" && command !== "revoke") {
    process.stderr.write(`${USAGE}\n`);
    return 2;
  }
  const { db, close } = await openProjects(databaseUrl);
  try {
    const user = await db.query<{ id: string }>("SELECT id FROM users ORDER BY created_at LIMIT 1");
    let userID = user.rows[0]?.id;
    if (!userID && command === "create") {
      // No user yet (an Encore app without the KilnBootstrapToken secret): this token's user is the local user.
      const issued = await bootstrapLocalUser(db);
      if (issued) {
        process.stdout.write(`${issued.token}\n(id ${issued.id}; the local user was created with it; shown once: the database keeps only its hash)\n`);
        return 0;
      }
      userID = (await db.query<{ id: string }>("SELECT id FROM users ORDER BY created_at LIMIT 1")).rows[0]?.id;
    }
    if (!userID) {
      process.stderr.write("no user yet: `npm run token -- create` creates the local user with its first token\n");
      return 1;
    }
    switch (command) {
      case "create": {
        const created = await createToken(db, userID, argument ?? "cli");
        process.stdout.write(`${created.token}\n(id ${created.info.id}; shown once: the database keeps only its hash)\n`);
        return 0;
      }
      case "list": {
        for (const t of await listTokens(db, userID)) {
          const state = t.revokedAt ? `revoked ${t.revokedAt}` : `last used ${t.lastUsedAt ?? "never"}`;
          process.stdout.write(`${t.id}  ${t.prefix}…  ${t.name}  created ${t.createdAt}  ${state}\n`);
        }
        return 0;
      }
      case "revoke": {
        const revoked = await revokeToken(db, userID, argument ?? "");
        process.stdout.write(`revoked ${revoked.id} (${revoked.prefix}…)\n`);
        return 0;
      }
    }
  } finally {
    await close();
  }
}

main(process.argv.slice(2))
  .catch((err: unknown) => {
    process.stderr.write(`kiln token: ${err instanceof Error ? err.message : String(err)}\n`);
    return err instanceof AppError && err.code === "invalid_argument" ? 2 : 1;
  })
  .then((code) => process.exit(code));
