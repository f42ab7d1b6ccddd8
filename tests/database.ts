import { createHash, randomUUID } from "node:crypto";
import { readFile, rename, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { PGlite } from "@electric-sql/pglite";
import { Client } from "pg";
import { IN_MEMORY_DATA_DIR, openDatabase, pgliteExecutor, type Database, type DatabaseOptions } from "~/db/database.server.ts";
import { fromPglite } from "pg-boss";
import { ensureJobSchema } from "~/jobs/job-schema.server.ts";
import { applyMigrations, DEFAULT_MIGRATIONS_DIR, readMigrations } from "~/db/migrations.server.ts";

/**
 * A fresh, migrated, empty database for one test: in-memory PGlite, or a new database on the
 * server at TEST_DATABASE_URL (dropped again by `close()`).
 */
export async function createTestDatabase(options: Pick<DatabaseOptions, "onQuery"> = {}): Promise<Database> {
  const serverUrl = process.env.TEST_DATABASE_URL;
  return serverUrl ? createServerTestDatabase(serverUrl, options) : createEmbeddedTestDatabase(options);
}

/**
 * The same database for services that must leave it open when they stop (a test that starts services again on it):
 * whoever made it closes it after the last of them.
 */
export function keptOpen(database: Database): Database {
  return { ...database, close: async () => {} };
}

async function createEmbeddedTestDatabase(options: DatabaseOptions): Promise<Database> {
  return openDatabase({ kind: "embedded", dataDir: IN_MEMORY_DATA_DIR, initialData: await migratedTemplate() }, options);
}

// Loading a data folder tarball takes ~0.6 s where creating a new cluster takes 4-10 s. Both
// tarballs are cached on disk, so parallel test workers build each one once per change.
let emptyCluster: Promise<Blob> | undefined;
let migratedCluster: Promise<Blob> | undefined;

/** A PGlite data folder tarball of a new, empty cluster, for tests of the database layer itself. */
export function emptyEmbeddedDataDir(): Promise<Blob> {
  emptyCluster ??= pgliteVersion().then((version) =>
    cachedDataDir(`empty-${version}`, () => PGlite.create(IN_MEMORY_DATA_DIR)),
  );
  return emptyCluster;
}

function migratedTemplate(): Promise<Blob> {
  migratedCluster ??= (async () => {
    const migrations = await readMigrations(DEFAULT_MIGRATIONS_DIR);
    const key = createHash("sha256")
      .update(JSON.stringify([await pgliteVersion(), await pgBossVersion(), migrations.map((migration) => [migration.name, migration.checksum])]))
      .digest("hex")
      .slice(0, 16);
    return cachedDataDir(`migrated-${key}`, async () => {
      const pglite = await PGlite.create(IN_MEMORY_DATA_DIR, { loadDataDir: await emptyEmbeddedDataDir() });
      await applyMigrations(pgliteExecutor(pglite), DEFAULT_MIGRATIONS_DIR);
      // pg-boss's schema too, as openDatabase installs it: a test database then only checks its version.
      await ensureJobSchema(fromPglite(pglite));
      return pglite;
    });
  })();
  return migratedCluster;
}

async function cachedDataDir(key: string, build: () => Promise<PGlite>): Promise<Blob> {
  const cacheFile = path.join(tmpdir(), `billing-portal-pglite-${key}.tar`);
  const cached = await readFile(cacheFile).catch(() => undefined);
  if (cached) return new Blob([cached]);

  const pglite = await build();
  try {
    const dataDir = await pglite.dumpDataDir("none");
    // Written aside then renamed, so a parallel worker never reads half a file.
    const partialFile = `${cacheFile}.${process.pid}.partial`;
    await writeFile(partialFile, new Uint8Array(await dataDir.arrayBuffer()));
    await rename(partialFile, cacheFile);
    return dataDir;
  } finally {
    await pglite.close();
  }
}

async function pgBossVersion(): Promise<string> {
  const manifest = await readFile(path.resolve("node_modules/pg-boss/package.json"), "utf8");
  return (JSON.parse(manifest) as { version: string }).version;
}

async function pgliteVersion(): Promise<string> {
  const manifest = await readFile(path.resolve("node_modules/@electric-sql/pglite/package.json"), "utf8");
  return (JSON.parse(manifest) as { version: string }).version;
}

async function createServerTestDatabase(serverUrl: string, options: DatabaseOptions): Promise<Database> {
  // Our migrations take milliseconds on a server, but pg-boss's schema about a second: each test database is a
  // copy of a migrated template database (one per change of the migrations or of pg-boss), which openDatabase
  // then finds up to date.
  const template = await serverTemplate(serverUrl);
  const databaseName = `test_${randomUUID().replaceAll("-", "")}`;
  await onServer(serverUrl, (admin) => admin.query(`CREATE DATABASE "${databaseName}" TEMPLATE "${template}"`));
  const url = new URL(serverUrl);
  url.pathname = `/${databaseName}`;
  const database = await openDatabase({ kind: "postgres", url: url.toString() }, options).catch(async (error: unknown) => {
    await dropDatabase(serverUrl, databaseName);
    throw error;
  });
  return {
    ...database,
    async close() {
      await database.close();
      await dropDatabase(serverUrl, databaseName);
    },
  };
}

let serverTemplateName: Promise<string> | undefined;

/**
 * The migrated template database on the server, made once (under an advisory lock, so parallel test workers make
 * it once) and kept between runs: its name holds the migrations' and pg-boss's versions. Built under another name
 * and renamed, so a half-made one is never copied; nothing stays connected to it, as CREATE DATABASE … TEMPLATE needs.
 */
function serverTemplate(serverUrl: string): Promise<string> {
  serverTemplateName ??= (async () => {
    const migrations = await readMigrations(DEFAULT_MIGRATIONS_DIR);
    const key = createHash("sha256")
      .update(JSON.stringify([await pgBossVersion(), migrations.map((migration) => [migration.name, migration.checksum])]))
      .digest("hex")
      .slice(0, 16);
    const name = `test_template_${key}`;
    await onServer(serverUrl, async (admin) => {
      await admin.query("SELECT pg_advisory_lock(727073)");
      try {
        const exists = await admin.query("SELECT 1 FROM pg_database WHERE datname = $1", [name]);
        if (exists.rowCount) return;
        const building = `${name}_${process.pid}`;
        await admin.query(`DROP DATABASE IF EXISTS "${building}"`);
        await admin.query(`CREATE DATABASE "${building}"`);
        const url = new URL(serverUrl);
        url.pathname = `/${building}`;
        await (await openDatabase({ kind: "postgres", url: url.toString() })).close();
        await admin.query(`ALTER DATABASE "${building}" RENAME TO "${name}"`);
      } finally {
        await admin.query("SELECT pg_advisory_unlock(727073)");
      }
    });
    return name;
  })();
  return serverTemplateName;
}

function dropDatabase(serverUrl: string, databaseName: string): Promise<unknown> {
  return onServer(serverUrl, (admin) => admin.query(`DROP DATABASE IF EXISTS "${databaseName}" WITH (FORCE)`));
}

async function onServer<T>(serverUrl: string, work: (admin: Client) => Promise<T>): Promise<T> {
  const admin = new Client({ connectionString: serverUrl });
  await admin.connect();
  try {
    return await work(admin);
  } finally {
    await admin.end();
  }
}
