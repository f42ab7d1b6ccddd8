import { parseSyncArguments, runSyncCommand } from "~/billing/sync/sync-command.server.ts";
import { parseConfig } from "~/config/env.server.ts";
import { openDatabase } from "~/db/database.server.ts";

// `npm run billing:sync -- --email <email> | --all [--provider <p>] [--dry-run] [--json]` (SPEC "Keeping billing
// state true"): reads each selected customer's subscriptions from its provider and applies what differs.
const parsed = parseSyncArguments(process.argv.slice(2));
if ("error" in parsed) {
  console.error(parsed.error);
  process.exit(1);
}

try {
  const config = parseConfig(process.env);
  const database = await openDatabase(config.database);
  try {
    const { lines, errors, exitCode } = await runSyncCommand({ config, prisma: database.prisma, args: parsed });
    for (const line of lines) console.log(line);
    for (const line of errors) console.error(line);
    process.exitCode = exitCode;
  } finally {
    await database.close();
  }
} catch (error) {
  // Setup and configuration errors name what is wrong, never a value; anything else is named by its kind only.
  const known = error instanceof Error && (error.name === "SyncSetupError" || error.name === "ConfigError");
  console.error(known ? error.message : `billing:sync failed (${error instanceof Error ? error.name : typeof error}); nothing was half-applied.`);
  process.exitCode = 1;
}
