/**
 * Manages the local user's API tokens from the shell:
 *   npm run token -- create [name]    prints a new token once
 *   npm run token -- list             prefix, name, created, last used, revoked
 *   npm run token -- revoke <id>
 */
import { loadConfig } from "../lib/config";
import { AppError } from "../lib/errors";
import { createPinoLogger } from "../lib/log";
import { createToken, listTokens, revokeToken } from "../projects/tokens";
import { openKilnDatabases } from "../server/compose";

async function main(args: string[]): Promise<number> {
  const [command, argument] = args;
  const config = loadConfig();
  const log = createPinoLogger("warn");
  // The server's own schema naming: with KILN_SCHEMA_PREFIX the tokens go where that server looks.
  const databases = await openKilnDatabases(config, log);
  try {
    const db = databases.pool("projects");
    const user = await db.query<{ id: string }>("SELECT id FROM users ORDER BY created_at LIMIT 1");
    if (!user.rows[0]) {
      process.stderr.write("no user yet: run `npm start` once to create the local user\n");
      return 1;
    }
    const userID = user.rows[0].id;
    switch (command) {
      case "create": {
        const created = await createToken(db, userID, argument ?? "cli");
        process.stdout.write(`${created.token}\n(id ${created.info.id}; shown once: the database keeps only its hash)\n`);
        return 0;
      }
      case "list": {
        const tokens = await listTokens(db, userID);
        for (const t of tokens) {
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
      default:
        process.stderr.write("usage: npm run token -- create [name] | list | revoke <id>\n");
        return 2;
    }
  } catch (err) {
    if (err instanceof AppError) {
      process.stderr.write(`${err.message}\n`);
      return 1;
    }
    throw err;
  } finally {
    await databases.close();
  }
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (err) => {
    process.stderr.write(`kiln token: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exit(1);
  },
);
