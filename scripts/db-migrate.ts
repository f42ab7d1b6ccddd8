// Applies pending migrations, as the app does at start, without starting the app.
// DATABASE_URL=postgres://... targets a server; otherwise the embedded database in DATA_DIR (default ./data).
import { openDatabase, type DatabaseTarget } from "~/db/database.server.ts";

const databaseUrl = process.env.DATABASE_URL?.trim();
const dataDir = process.env.DATA_DIR?.trim() || "./data";
const target: DatabaseTarget = databaseUrl ? { kind: "postgres", url: databaseUrl } : { kind: "embedded", dataDir };
// Never print the URL itself: it may carry a password.
const where = target.kind === "postgres" ? "the PostgreSQL server in DATABASE_URL" : `the embedded database in ${dataDir}`;

try {
  const database = await openDatabase(target);
  await database.close();
  const applied = database.appliedMigrations;
  console.log(
    applied.length === 0
      ? `Nothing to apply: ${where} is up to date.`
      : `Applied ${applied.length} migration(s) to ${where}:\n${applied.map((name) => `  ${name}`).join("\n")}`,
  );
} catch (error) {
  console.error(`Cannot migrate ${where}: ${error instanceof Error ? error.message : String(error)}`);
  process.exitCode = 1;
}
