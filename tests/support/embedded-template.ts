import { cpSync, existsSync, mkdirSync, readFileSync, renameSync, rmSync } from "node:fs";
import { createHash } from "node:crypto";
import { join } from "node:path";
import { LOCK_FILE_NAME } from "../../app/db/embedded-lock.server.ts";
import { openDatabase } from "../../app/db/database.server.ts";
import { DEFAULT_MIGRATIONS_DIR, readMigrations } from "../../app/db/migrations.server.ts";
import { PROJECT_ROOT } from "./production-build.ts";

/**
 * A new embedded data folder costs PGlite's initdb (a process of its own, several seconds of a core) and the
 * migrations. Every app the server, hostile and browser suites start begins from an empty database, so one
 * folder is made that way per change of the migrations (or of PGlite) and copied for each app: the app then
 * opens it as it opens any existing folder, and applies nothing.
 */
export async function prepareEmbeddedDataDir(target: string): Promise<void> {
  const template = await ensureTemplate();
  rmSync(target, { recursive: true, force: true });
  cpSync(template, target, { recursive: true });
}

/** Makes the template now (before several processes that would each make it at once). */
export async function ensureTemplate(): Promise<string> {
  const key = createHash("sha256")
    .update(JSON.stringify([pgliteVersion(), packageVersion("pg-boss"), (await readMigrations(DEFAULT_MIGRATIONS_DIR)).map((m) => [m.name, m.checksum])]))
    .digest("hex")
    .slice(0, 16);
  const cache = join(PROJECT_ROOT, ".cache");
  const template = join(cache, `embedded-template-${key}`);
  if (existsSync(join(template, "PG_VERSION"))) return template;
  mkdirSync(cache, { recursive: true });
  // Made aside and renamed into place, so a parallel suite never copies half a folder (the loser's copy is dropped).
  const partial = `${template}.${process.pid}.partial`;
  rmSync(partial, { recursive: true, force: true });
  const database = await openDatabase({ kind: "embedded", dataDir: partial });
  await database.close();
  rmSync(join(partial, LOCK_FILE_NAME), { force: true });
  try {
    renameSync(partial, template);
  } catch {
    rmSync(partial, { recursive: true, force: true });
  }
  return template;
}

function pgliteVersion(): string {
  return packageVersion("@electric-sql/pglite");
}

/** A package's version: the template holds its schema (pg-boss installs its own at open, ADR 027). */
function packageVersion(name: string): string {
  return (JSON.parse(readFileSync(join(PROJECT_ROOT, "node_modules", name, "package.json"), "utf8")) as { version: string }).version;
}
