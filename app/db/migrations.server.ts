import { createHash, randomUUID } from "node:crypto";
import { readdir, readFile } from "node:fs/promises";
import path from "node:path";

/** The few SQL operations the runner needs, so the same code drives PGlite and a pg client. */
export interface SqlExecutor {
  query<Row extends Record<string, unknown>>(sql: string, params?: unknown[]): Promise<Row[]>;
  /** Runs a whole migration script (many statements, no parameters). */
  executeScript(sql: string): Promise<void>;
  /** Runs `work` in one transaction on one connection: committed if it resolves, rolled back if it throws. */
  transaction(work: (tx: SqlExecutor) => Promise<void>): Promise<void>;
}

export interface MigrationFile {
  name: string;
  script: string;
  checksum: string;
}

export interface MigrationRunResult {
  applied: string[];
}

/** The ledger row exactly as Prisma's schema engine stores it. */
export interface MigrationLedgerRow {
  id: string;
  checksum: string;
  finished_at: Date | null;
  migration_name: string;
  logs: string | null;
  rolled_back_at: Date | null;
  started_at: Date;
  applied_steps_count: number;
}

export const DEFAULT_MIGRATIONS_DIR = path.resolve(process.cwd(), "prisma/migrations");

/** The key Prisma's schema engine passes to pg_advisory_lock, so its `migrate deploy` and ours wait for each other. */
export const PRISMA_ADVISORY_LOCK_KEY = 72707369;

// Prisma's DDL for its ledger (migrations.test.ts checks it against the table Prisma's engine creates).
const CREATE_LEDGER_TABLE = `CREATE TABLE _prisma_migrations (
    id                      VARCHAR(36) PRIMARY KEY NOT NULL,
    checksum                VARCHAR(64) NOT NULL,
    finished_at             TIMESTAMPTZ,
    migration_name          VARCHAR(255) NOT NULL,
    logs                    TEXT,
    rolled_back_at          TIMESTAMPTZ,
    started_at              TIMESTAMPTZ NOT NULL DEFAULT now(),
    applied_steps_count     INTEGER NOT NULL DEFAULT 0
);`;

export class MigrationChecksumMismatchError extends Error {
  constructor(readonly migrationName: string) {
    super(
      `Migration ${migrationName} was changed after it was applied to this database: restore its migration.sql, or add the change as a new migration with \`npm run db:migration:create\`.`,
    );
    this.name = "MigrationChecksumMismatchError";
  }
}

export class FailedMigrationError extends Error {
  constructor(
    readonly migrationName: string,
    options: { databaseError?: unknown } = {},
  ) {
    const what =
      options.databaseError === undefined
        ? `Migration ${migrationName} is recorded as failed in _prisma_migrations, so no migration runs`
        : `Migration ${migrationName} failed (${errorMessage(options.databaseError)}), was rolled back, and is recorded as failed in _prisma_migrations`;
    // What `prisma migrate resolve --rolled-back` writes, for machines without Prisma's native engine.
    const offlineResolve = `UPDATE _prisma_migrations SET rolled_back_at = now() WHERE migration_name = '${migrationName}' AND finished_at IS NULL AND rolled_back_at IS NULL`;
    super(
      `${what}: fix its migration.sql, mark it rolled back with \`npx prisma migrate resolve --rolled-back ${migrationName}\` (offline: \`${offlineResolve}\`), then start again.`,
      { cause: options.databaseError },
    );
    this.name = "FailedMigrationError";
  }
}

export class MigrationProviderMismatchError extends Error {
  constructor(readonly lockFilePath: string) {
    super(`${lockFilePath} names another provider than "postgresql": these migrations were written for another database.`);
    this.name = "MigrationProviderMismatchError";
  }
}

/** sha256 hex of the exact bytes of migration.sql, as Prisma stores it. */
export function migrationChecksum(script: string): string {
  return createHash("sha256").update(script, "utf8").digest("hex");
}

/**
 * Prisma's own comparison: the script as is, with CRLF→LF or LF→CRLF, so a checkout with other
 * line endings is not an edit; ledgers from old Prisma versions hold hex digests without zero padding.
 */
function isSameScript(script: string, recordedChecksum: string): boolean {
  return [script, script.replaceAll("\r\n", "\n"), script.replaceAll("\n", "\r\n")].some((variant) => {
    const digest = createHash("sha256").update(variant, "utf8").digest();
    const rendered =
      recordedChecksum.length === 64 ? digest.toString("hex") : Array.from(digest, (byte) => byte.toString(16)).join("");
    return rendered === recordedChecksum;
  });
}

/** Migration folders in the order Prisma applies them: by directory name. */
export async function readMigrations(migrationsDir: string = DEFAULT_MIGRATIONS_DIR): Promise<MigrationFile[]> {
  await assertPostgresqlLockFile(migrationsDir);
  const entries = await readdir(migrationsDir, { withFileTypes: true }).catch((error: NodeJS.ErrnoException) => {
    if (error.code === "ENOENT") return [];
    throw error;
  });
  const names = entries
    .filter((entry) => entry.isDirectory())
    .map((entry) => entry.name)
    .toSorted((a, b) => a.localeCompare(b));
  return Promise.all(
    names.map(async (name) => {
      const script = await readFile(path.join(migrationsDir, name, "migration.sql"), "utf8");
      return { name, script, checksum: migrationChecksum(script) };
    }),
  );
}

async function assertPostgresqlLockFile(migrationsDir: string): Promise<void> {
  const lockFilePath = path.join(migrationsDir, "migration_lock.toml");
  const lockFile = await readFile(lockFilePath, "utf8").catch(() => null);
  const provider = lockFile?.match(/^\s*provider\s*=\s*"([^"]*)"/m)?.[1];
  if (provider !== undefined && provider !== "postgresql") throw new MigrationProviderMismatchError(lockFilePath);
}

/**
 * Applies every migration not yet in `_prisma_migrations`, in order, writing the ledger as
 * `prisma migrate deploy` does; stricter than Prisma in one way: an applied migration whose file
 * changed stops the run instead of being ignored.
 */
export async function applyMigrations(
  sql: SqlExecutor,
  migrationsDir: string = DEFAULT_MIGRATIONS_DIR,
): Promise<MigrationRunResult> {
  const migrations = await readMigrations(migrationsDir);
  // Session-level lock: the executor must be one connection for the whole run.
  await sql.query("SELECT pg_advisory_lock($1)", [PRISMA_ADVISORY_LOCK_KEY]);
  try {
    await ensureLedgerTable(sql);
    const ledger = await readLedger(sql);

    const failed = ledger.find((row) => row.finished_at === null && row.rolled_back_at === null);
    if (failed) throw new FailedMigrationError(failed.migration_name);

    const applied = new Map(
      ledger.filter((row) => row.rolled_back_at === null).map((row) => [row.migration_name, row]),
    );
    for (const migration of migrations) {
      const row = applied.get(migration.name);
      if (row && !isSameScript(migration.script, row.checksum)) throw new MigrationChecksumMismatchError(migration.name);
    }

    const pending = migrations.filter((migration) => !applied.has(migration.name));
    for (const migration of pending) await applyOne(sql, migration);
    return { applied: pending.map((migration) => migration.name) };
  } finally {
    await sql.query("SELECT pg_advisory_unlock($1)", [PRISMA_ADVISORY_LOCK_KEY]);
  }
}

async function ensureLedgerTable(sql: SqlExecutor): Promise<void> {
  const [{ exists } = { exists: false }] = await sql.query<{ exists: boolean }>(
    "SELECT to_regclass('_prisma_migrations') IS NOT NULL AS exists",
  );
  if (!exists) await sql.executeScript(CREATE_LEDGER_TABLE);
}

export async function readLedger(sql: SqlExecutor): Promise<MigrationLedgerRow[]> {
  return sql.query<MigrationLedgerRow & Record<string, unknown>>(
    `SELECT id, checksum, finished_at, migration_name, logs, rolled_back_at, started_at, applied_steps_count
       FROM _prisma_migrations ORDER BY started_at ASC`,
  );
}

async function applyOne(sql: SqlExecutor, migration: MigrationFile): Promise<void> {
  // Recorded before the script runs, outside its transaction, so a failure leaves Prisma's "failed" row behind.
  const id = randomUUID();
  await sql.query(
    "INSERT INTO _prisma_migrations (id, migration_name, checksum, started_at) VALUES ($1, $2, $3, now())",
    [id, migration.name, migration.checksum],
  );
  try {
    await sql.transaction(async (tx) => {
      await tx.executeScript(migration.script);
      await tx.query(
        "UPDATE _prisma_migrations SET applied_steps_count = applied_steps_count + 1, finished_at = clock_timestamp() WHERE id = $1",
        [id],
      );
    });
  } catch (error) {
    await sql.query("UPDATE _prisma_migrations SET logs = $1 WHERE id = $2", [migrationFailureLog(migration.name, error), id]);
    throw new FailedMigrationError(migration.name, { databaseError: error });
  }
}

// Prisma's P3018 wording, so `prisma migrate status` shows a familiar log.
function migrationFailureLog(migrationName: string, error: unknown): string {
  return `A migration failed to apply. New migrations cannot be applied before the error is recovered from. Read more about how to resolve migration issues in a production database: https://pris.ly/d/migrate-resolve\n\nMigration name: ${migrationName}\n\nDatabase error:\n${errorMessage(error)}`;
}

function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
