import { randomUUID } from "node:crypto";
import { cpSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { PGlite } from "@electric-sql/pglite";
import { PrismaPg } from "@prisma/adapter-pg";
import { bindMigrationAwareSqlAdapterFactory, type SqlMigrationAwareDriverAdapterFactory } from "@prisma/driver-adapter-utils";
import { SchemaEngine, type MigrationList } from "@prisma/schema-engine-wasm";
import { Client, Pool } from "pg";
import { PrismaPGlite } from "pglite-prisma-adapter";
import { afterAll, afterEach, beforeAll, describe, expect, test } from "vitest";
import { pgClientExecutor, pgliteExecutor } from "~/db/database.server.ts";
import { emptyEmbeddedDataDir } from "../../tests/database.ts";
import {
  applyMigrations,
  FailedMigrationError,
  migrationChecksum,
  MigrationChecksumMismatchError,
  MigrationProviderMismatchError,
  PRISMA_ADVISORY_LOCK_KEY,
  readLedger,
  type MigrationLedgerRow,
  type SqlExecutor,
} from "~/db/migrations.server.ts";

const projectMigrationsDir = path.resolve("prisma/migrations");
const projectMigrationNames = readdirSync(projectMigrationsDir, { withFileTypes: true })
  .filter((entry) => entry.isDirectory())
  .map((entry) => entry.name)
  .toSorted();
const serverUrl = process.env.TEST_DATABASE_URL;

/** A database that starts empty, and a way to open a second one for Prisma's engine to compare with. */
interface Backend {
  name: string;
  open(): Promise<{
    sql: SqlExecutor;
    /** Runs Prisma's schema engine on the same database, over its own connection. */
    withPrismaEngine<T>(work: (engine: SchemaEngine) => Promise<T>): Promise<T>;
    close(): Promise<void>;
  }>;
}

const embedded: Backend = {
  name: "embedded (PGlite)",
  async open() {
    const pglite = await PGlite.create("memory://", { loadDataDir: await emptyEmbeddedDataDir() });
    const adapter = new PrismaPGlite(pglite);
    return {
      sql: pgliteExecutor(pglite),
      // Prisma's engine only needs a shadow database to diff, never to apply.
      withPrismaEngine: (work) =>
        withEngine({ provider: "postgres", adapterName: adapter.adapterName, connect: () => adapter.connect(), connectToShadowDb: () => adapter.connect() }, work),
      close: () => pglite.close(),
    };
  },
};

const server: Backend = {
  name: "PostgreSQL server",
  async open() {
    const databaseName = `test_migrations_${randomUUID().replaceAll("-", "")}`;
    const admin = new Client({ connectionString: serverUrl });
    await admin.connect();
    await admin.query(`CREATE DATABASE "${databaseName}"`);
    const url = new URL(serverUrl!);
    url.pathname = `/${databaseName}`;
    const client = new Client({ connectionString: url.toString() });
    await client.connect();
    return {
      sql: pgClientExecutor(client),
      async withPrismaEngine(work) {
        // Prisma's engine keeps its advisory lock until its connection ends, as when `prisma migrate deploy` exits.
        const pool = new Pool({ connectionString: url.toString() });
        const factory = new PrismaPg(pool);
        // PrismaPg's executeScript splits a script on every ";", inside dollar-quoted PL/pgSQL bodies too (the
        // organisations migration's trigger function). Prisma's native engine, which `prisma migrate deploy` runs
        // with prisma.config.ts's URL, sends a migration whole, as PostgreSQL's simple query takes it: so does this.
        const whole = async (adapter: Awaited<ReturnType<PrismaPg["connect"]>>) =>
          Object.assign(adapter, { executeScript: async (script: string) => void (await pool.query(script)) });
        try {
          return await withEngine(
            {
              provider: factory.provider,
              adapterName: factory.adapterName,
              connect: async () => whole(await factory.connect()),
              connectToShadowDb: async () => whole(await factory.connectToShadowDb()),
            },
            work,
          );
        } finally {
          await pool.end();
        }
      },
      async close() {
        await client.end();
        await admin.query(`DROP DATABASE IF EXISTS "${databaseName}" WITH (FORCE)`);
        await admin.end();
      },
    };
  },
};

/** A migration whose sha256 has two bytes below 0x10, so padded and unpadded hex differ in length. */
const SCRIPT_WITH_SMALL_DIGEST_BYTES = `CREATE TABLE "Padding" ("id" TEXT);\n-- 0\n`;
const SCRIPT_WITH_SMALL_DIGEST_BYTES_CHECKSUM = "37ea44cfa38b878a755e2da7f1652b9307b999531089fc81400f7538af6f379b";
const SCRIPT_WITH_SMALL_DIGEST_BYTES_UNPADDED_CHECKSUM = "37ea44cfa38b878a755e2da7f1652b937b999531089fc8140f7538af6f379b";

const folders: string[] = [];

/** A copy of the project's migrations that a test may edit. */
function copyOfProjectMigrations(): string {
  const folder = mkdtempSync(path.join(tmpdir(), "migrations-"));
  folders.push(folder);
  cpSync(projectMigrationsDir, folder, { recursive: true });
  return folder;
}

function addMigration(migrationsDir: string, name: string, script: string): void {
  mkdirSync(path.join(migrationsDir, name));
  writeFileSync(path.join(migrationsDir, name, "migration.sql"), script);
}

afterAll(() => {
  for (const folder of folders) rmSync(folder, { recursive: true, force: true });
});

test("a checksum is the zero-padded sha256 hex of the file, as Prisma writes it", () => {
  // Known digests: sha256("") and a script whose digest holds bytes below 0x10 (…93 07 b9…, …40 0f 75…).
  expect(migrationChecksum("")).toBe("e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  expect(migrationChecksum(SCRIPT_WITH_SMALL_DIGEST_BYTES)).toBe(SCRIPT_WITH_SMALL_DIGEST_BYTES_CHECKSUM);
});

describe.each([embedded, ...(serverUrl ? [server] : [])])("migrations on the $name", (backend) => {
  let database: Awaited<ReturnType<Backend["open"]>>;
  let sql: SqlExecutor;

  beforeAll(async () => {
    database = await backend.open();
    sql = database.sql;
  }, 30_000);
  afterAll(() => database?.close());

  // Each test migrates its own schema of one database: a new PGlite costs seconds, a schema nothing.
  let schema: string;
  beforeEachSchema();
  function beforeEachSchema() {
    afterEach(async () => {
      await sql.executeScript(`DROP SCHEMA IF EXISTS "${schema}" CASCADE; SET search_path TO public`);
    });
  }
  async function useFreshSchema(): Promise<void> {
    schema = `t_${randomUUID().replaceAll("-", "")}`;
    await sql.executeScript(`CREATE SCHEMA "${schema}"; SET search_path TO "${schema}"`);
  }

  async function tableNames(): Promise<string[]> {
    const rows = await sql.query<{ table_name: string }>(
      "SELECT table_name FROM information_schema.tables WHERE table_schema = current_schema() ORDER BY table_name",
    );
    return rows.map((row) => row.table_name);
  }

  test("an empty database gets every migration, recorded as Prisma records it", async () => {
    await useFreshSchema();
    const { applied } = await applyMigrations(sql, projectMigrationsDir);

    expect(applied).toEqual(projectMigrationNames);
    expect(await tableNames()).toEqual([
      "AccountToken",
      "BillingActivity",
      "Customer",
      "Invitation",
      "JobKey",
      "Membership",
      "Organization",
      "Password",
      "Project",
      "RateLimit",
      "Session",
      "Subscription",
      "User",
      "WebhookEvent",
      "_prisma_migrations",
    ]);
    const ledger = await readLedger(sql);
    expect(ledger.map((row) => row.migration_name)).toEqual(projectMigrationNames);
    for (const row of ledger) {
      const script = readFileSync(path.join(projectMigrationsDir, row.migration_name, "migration.sql"), "utf8");
      expect(row.checksum).toBe(migrationChecksum(script));
      expect(row.checksum).toMatch(/^[0-9a-f]{64}$/);
      expect(row.id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
      expect(row).toMatchObject({ logs: null, rolled_back_at: null, applied_steps_count: 1 });
      expect(row.finished_at!.getTime()).toBeGreaterThanOrEqual(row.started_at.getTime());
    }
  });

  test("running again applies nothing and writes nothing", async () => {
    await useFreshSchema();
    await applyMigrations(sql, projectMigrationsDir);
    const ledgerBefore = await readLedger(sql);

    expect(await applyMigrations(sql, projectMigrationsDir)).toEqual({ applied: [] });
    expect(await readLedger(sql)).toEqual(ledgerBefore);
  });

  test("a new migration folder is applied after the ones already there, in name order", async () => {
    await useFreshSchema();
    const migrationsDir = copyOfProjectMigrations();
    await applyMigrations(sql, migrationsDir);
    addMigration(migrationsDir, "29990102000000_second", `CREATE TABLE "Second" ("id" TEXT);`);
    addMigration(migrationsDir, "29990101000000_first", `CREATE TABLE "First" ("id" TEXT);`);

    expect(await applyMigrations(sql, migrationsDir)).toEqual({ applied: ["29990101000000_first", "29990102000000_second"] });
    expect((await readLedger(sql)).map((row) => row.migration_name)).toEqual([
      ...projectMigrationNames,
      "29990101000000_first",
      "29990102000000_second",
    ]);
  });

  test("an applied migration whose file changed stops the run, naming the migration", async () => {
    await useFreshSchema();
    const migrationsDir = copyOfProjectMigrations();
    addMigration(migrationsDir, "29990101000000_add_note", `CREATE TABLE "Note" ("id" TEXT);`);
    await applyMigrations(sql, migrationsDir);
    writeFileSync(path.join(migrationsDir, "29990101000000_add_note", "migration.sql"), `CREATE TABLE "Note" ("id" TEXT, "body" TEXT);`);
    addMigration(migrationsDir, "29990102000000_later", `CREATE TABLE "Later" ("id" TEXT);`);

    const run = applyMigrations(sql, migrationsDir);
    await expect(run).rejects.toBeInstanceOf(MigrationChecksumMismatchError);
    await expect(run).rejects.toThrow(/Migration 29990101000000_add_note was changed after it was applied/);
    expect(await tableNames()).not.toContain("Later");
  });

  test("a checkout with CRLF line endings is not a changed migration", async () => {
    await useFreshSchema();
    const migrationsDir = copyOfProjectMigrations();
    await applyMigrations(sql, migrationsDir);
    for (const name of projectMigrationNames) {
      const file = path.join(migrationsDir, name, "migration.sql");
      writeFileSync(file, readFileSync(file, "utf8").replaceAll("\n", "\r\n"));
    }
    expect(await applyMigrations(sql, migrationsDir)).toEqual({ applied: [] });
  });

  test("a ledger written by an old Prisma, with checksums missing their zero padding, is still up to date", async () => {
    await useFreshSchema();
    const migrationsDir = copyOfProjectMigrations();
    addMigration(migrationsDir, "29990101000000_padding", SCRIPT_WITH_SMALL_DIGEST_BYTES);
    await applyMigrations(sql, migrationsDir);
    // What older Prisma versions wrote for this script: each byte as hex without its leading zero (62 characters).
    await sql.query("UPDATE _prisma_migrations SET checksum = $1 WHERE migration_name = $2", [
      SCRIPT_WITH_SMALL_DIGEST_BYTES_UNPADDED_CHECKSUM,
      "29990101000000_padding",
    ]);
    expect(await applyMigrations(sql, migrationsDir)).toEqual({ applied: [] });
  });

  test("an unpadded checksum of other contents is still a changed migration", async () => {
    await useFreshSchema();
    const migrationsDir = copyOfProjectMigrations();
    addMigration(migrationsDir, "29990101000000_padding", SCRIPT_WITH_SMALL_DIGEST_BYTES);
    await applyMigrations(sql, migrationsDir);
    writeFileSync(path.join(migrationsDir, "29990101000000_padding", "migration.sql"), `${SCRIPT_WITH_SMALL_DIGEST_BYTES}-- edited\n`);
    await sql.query("UPDATE _prisma_migrations SET checksum = $1 WHERE migration_name = $2", [
      SCRIPT_WITH_SMALL_DIGEST_BYTES_UNPADDED_CHECKSUM,
      "29990101000000_padding",
    ]);
    await expect(applyMigrations(sql, migrationsDir)).rejects.toBeInstanceOf(MigrationChecksumMismatchError);
  });

  test("a failing migration is rolled back, recorded as failed, and blocks later runs as with Prisma", async () => {
    await useFreshSchema();
    const migrationsDir = copyOfProjectMigrations();
    addMigration(migrationsDir, "29990101000000_broken", `CREATE TABLE "Half" ("id" TEXT);\nSELECT * FROM "NoSuchTable";`);

    const failedRun = applyMigrations(sql, migrationsDir);
    await expect(failedRun).rejects.toThrow(FailedMigrationError);
    await expect(failedRun).rejects.toThrow(/Migration 29990101000000_broken failed \(.*NoSuchTable.*\), was rolled back/);
    expect(await tableNames()).not.toContain("Half");
    const failed = (await readLedger(sql)).find((row) => row.migration_name === "29990101000000_broken");
    expect(failed).toMatchObject({ finished_at: null, rolled_back_at: null, applied_steps_count: 0 });
    expect(failed!.logs).toMatch(/Migration name: 29990101000000_broken/);
    expect(failed!.logs).toMatch(/NoSuchTable/);

    // Fixing the file is not enough: like `prisma migrate deploy`, we wait for `prisma migrate resolve`.
    writeFileSync(path.join(migrationsDir, "29990101000000_broken", "migration.sql"), `CREATE TABLE "Half" ("id" TEXT);`);
    await expect(applyMigrations(sql, migrationsDir)).rejects.toThrow(/migrate resolve --rolled-back 29990101000000_broken/);

    // What `prisma migrate resolve --rolled-back` writes; then the fixed migration is applied again.
    await sql.query("UPDATE _prisma_migrations SET rolled_back_at = now() WHERE migration_name = $1", ["29990101000000_broken"]);
    expect(await applyMigrations(sql, migrationsDir)).toEqual({ applied: ["29990101000000_broken"] });
    expect(await tableNames()).toContain("Half");
  });

  test("migrations written for another provider are refused", async () => {
    await useFreshSchema();
    const migrationsDir = copyOfProjectMigrations();
    writeFileSync(path.join(migrationsDir, "migration_lock.toml"), `provider = "sqlite"\n`);
    await expect(applyMigrations(sql, migrationsDir)).rejects.toBeInstanceOf(MigrationProviderMismatchError);
  });

  test("our ledger is the one Prisma's own engine writes: each finds the other's database up to date", async () => {
    // Prisma's engine works in the public schema, ours in a fresh one of the same database.
    const filters = { externalTables: [], externalEnums: [] };
    const migrationsList = prismaMigrationsList(projectMigrationsDir);
    try {
      expect(await database.withPrismaEngine((engine) => engine.applyMigrations({ migrationsList, filters }))).toEqual({
        appliedMigrationNames: projectMigrationNames,
      });
      await sql.executeScript("SET search_path TO public");
      const prismaColumns = await ledgerColumns(sql);
      const prismaLedger = await readLedger(sql);

      await useFreshSchema();
      await applyMigrations(sql, projectMigrationsDir);
      expect(await ledgerColumns(sql)).toEqual(prismaColumns);
      expect(comparableLedger(await readLedger(sql))).toEqual(comparableLedger(prismaLedger));

      // Our runner on Prisma's database finds nothing to do...
      await sql.executeScript("SET search_path TO public");
      expect(await applyMigrations(sql, projectMigrationsDir)).toEqual({ applied: [] });

      // ...and Prisma's engine on a database we migrated finds no drift, no edit, nothing to apply.
      await sql.executeScript("DROP SCHEMA public CASCADE; CREATE SCHEMA public");
      await applyMigrations(sql, projectMigrationsDir);
      await database.withPrismaEngine(async (engine) => {
        const diagnosis = await engine.diagnoseMigrationHistory({ migrationsList, optInToShadowDatabase: false, filters });
        expect(diagnosis).toEqual({ history: null, editedMigrationNames: [], failedMigrationNames: [], hasMigrationsTable: true });
        expect(await engine.applyMigrations({ migrationsList, filters })).toEqual({ appliedMigrationNames: [] });
      });

      // A failure we record is one Prisma recognises: `migrate deploy` refuses until it is resolved.
      const migrationsDir = copyOfProjectMigrations();
      addMigration(migrationsDir, "29990101000000_broken", `SELECT * FROM "NoSuchTable";`);
      await expect(applyMigrations(sql, migrationsDir)).rejects.toThrow(FailedMigrationError);
      await database.withPrismaEngine(async (engine) => {
        const withBroken = prismaMigrationsList(migrationsDir);
        const diagnosis = await engine.diagnoseMigrationHistory({ migrationsList: withBroken, optInToShadowDatabase: false, filters });
        expect(diagnosis.failedMigrationNames).toEqual(["29990101000000_broken"]);
        await expect(engine.applyMigrations({ migrationsList: withBroken, filters })).rejects.toThrow(/found failed migrations/);
      });
    } finally {
      await sql.executeScript("DROP SCHEMA public CASCADE; CREATE SCHEMA public; SET search_path TO public");
    }
  });
});

describe.skipIf(!serverUrl)("concurrent starts on a PostgreSQL server", () => {
  let databaseUrl: string;
  let admin: Client;
  const databaseName = `test_migrations_lock_${randomUUID().replaceAll("-", "")}`;

  beforeAll(async () => {
    admin = new Client({ connectionString: serverUrl });
    await admin.connect();
    await admin.query(`CREATE DATABASE "${databaseName}"`);
    const url = new URL(serverUrl!);
    url.pathname = `/${databaseName}`;
    databaseUrl = url.toString();
  });
  afterAll(async () => {
    await admin.query(`DROP DATABASE IF EXISTS "${databaseName}" WITH (FORCE)`);
    await admin.end();
  });

  async function connect(): Promise<Client> {
    const client = new Client({ connectionString: databaseUrl });
    await client.connect();
    return client;
  }

  test("a run waits while Prisma's advisory lock is held, then finishes", async () => {
    const prismaDeploy = await connect();
    const ours = await connect();
    try {
      // What `prisma migrate deploy` holds for its whole run.
      await prismaDeploy.query("SELECT pg_advisory_lock($1)", [PRISMA_ADVISORY_LOCK_KEY]);
      let finished = false;
      const run = applyMigrations(pgClientExecutor(ours), projectMigrationsDir).then((result) => {
        finished = true;
        return result;
      });
      // Seen by the server as waiting for that lock: no guess at how long a run takes.
      await expect
        .poll(async () => {
          const { rows } = await prismaDeploy.query<{ waiting: number }>(
            `SELECT count(*)::int AS waiting FROM pg_locks
              WHERE locktype = 'advisory' AND NOT granted AND objid = $1
                AND database = (SELECT oid FROM pg_database WHERE datname = current_database())`,
            [PRISMA_ADVISORY_LOCK_KEY],
          );
          return rows[0]!.waiting;
        }, { timeout: 4_000 })
        .toBe(1);
      expect(finished).toBe(false);

      await prismaDeploy.query("SELECT pg_advisory_unlock($1)", [PRISMA_ADVISORY_LOCK_KEY]);
      expect(await run).toEqual({ applied: projectMigrationNames });
    } finally {
      await prismaDeploy.end();
      await ours.end();
    }
  });

  test("starts racing on one database apply each migration once", async () => {
    await admin.query(`DROP DATABASE IF EXISTS "${databaseName}" WITH (FORCE)`);
    await admin.query(`CREATE DATABASE "${databaseName}"`);
    const clients = await Promise.all([connect(), connect(), connect(), connect()]);
    try {
      const results = await Promise.all(clients.map((client) => applyMigrations(pgClientExecutor(client), projectMigrationsDir)));
      expect(results.flatMap((result) => result.applied).toSorted()).toEqual(projectMigrationNames);
      expect((await readLedger(pgClientExecutor(clients[0]!))).map((row) => row.migration_name)).toEqual(projectMigrationNames);
    } finally {
      await Promise.all(clients.map((client) => client.end()));
    }
  });
});

async function withEngine<T>(adapter: SqlMigrationAwareDriverAdapterFactory, work: (engine: SchemaEngine) => Promise<T>): Promise<T> {
  const engine = await SchemaEngine.new({ datamodels: undefined }, () => {}, bindMigrationAwareSqlAdapterFactory(adapter));
  try {
    return await work(engine);
  } finally {
    engine.free();
  }
}

/** Ledger rows without what differs by nature between two runs: ids and times. */
function comparableLedger(rows: MigrationLedgerRow[]) {
  return rows.map(({ checksum, migration_name, logs, rolled_back_at, applied_steps_count, finished_at }) => ({
    checksum,
    migration_name,
    logs,
    rolled_back_at,
    applied_steps_count,
    finished: finished_at !== null,
  }));
}

async function ledgerColumns(sql: SqlExecutor) {
  return sql.query(
    `SELECT column_name, data_type, character_maximum_length, is_nullable, column_default, ordinal_position
       FROM information_schema.columns
      WHERE table_name = '_prisma_migrations' AND table_schema = current_schema()
      ORDER BY ordinal_position`,
  );
}

/** The migrations folder in the shape Prisma's CLI hands to its engine. */
function prismaMigrationsList(migrationsDir: string): MigrationList {
  return {
    baseDir: migrationsDir,
    lockfile: { path: "migration_lock.toml", content: readFileSync(path.join(migrationsDir, "migration_lock.toml"), "utf8") },
    shadowDbInitScript: "",
    migrationDirectories: readdirSync(migrationsDir, { withFileTypes: true })
      .filter((entry) => entry.isDirectory())
      .map((entry) => entry.name)
      .toSorted()
      .map((name) => ({
        path: name,
        migrationFile: {
          path: "migration.sql",
          content: { tag: "ok", value: readFileSync(path.join(migrationsDir, name, "migration.sql"), "utf8") },
        },
      })),
  };
}
