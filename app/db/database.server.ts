import { PGlite, type Transaction } from "@electric-sql/pglite";
import { PrismaPg } from "@prisma/adapter-pg";
import { Client, Pool, type ClientBase } from "pg";
import { PrismaPGlite } from "pglite-prisma-adapter";
import { PrismaClient } from "~/db/generated/client.ts";
import { lockDataDir } from "~/db/embedded-lock.server.ts";
import { applyMigrations, DEFAULT_MIGRATIONS_DIR, type SqlExecutor } from "~/db/migrations.server.ts";

/** In-memory embedded database (tests): nothing on disk, so nothing to lock. */
export const IN_MEMORY_DATA_DIR = "memory://";

export type DatabaseTarget =
  | {
      kind: "embedded";
      /** A folder, or `memory://` for a database that lives and dies with the process. */
      dataDir: string;
      /** A PGlite data folder tarball (`dumpDataDir`) to start from instead of an empty cluster. */
      initialData?: Blob;
    }
  | {
      kind: "postgres";
      url: string;
      /** Connections this process may open (DATABASE_POOL_SIZE); node-postgres' default is 10. */
      poolSize?: number;
    };

export interface DatabaseOptions {
  migrationsDir?: string;
}

export interface Database {
  prisma: PrismaClient;
  kind: DatabaseTarget["kind"];
  /** Names of the migrations this open applied (empty when the database was up to date). */
  appliedMigrations: string[];
  close(): Promise<void>;
}

/** Opens the database, migrated: the only way the app gets a PrismaClient. */
export async function openDatabase(target: DatabaseTarget, options: DatabaseOptions = {}): Promise<Database> {
  const migrationsDir = options.migrationsDir ?? DEFAULT_MIGRATIONS_DIR;
  return target.kind === "embedded"
    ? openEmbeddedDatabase(target.dataDir, target.initialData, migrationsDir)
    : openPostgresDatabase(target.url, migrationsDir, target.poolSize);
}

async function openEmbeddedDatabase(dataDir: string, initialData: Blob | undefined, migrationsDir: string): Promise<Database> {
  const lock = dataDir.startsWith("memory://") ? undefined : lockDataDir(dataDir);
  let pglite: PGlite | undefined;
  try {
    pglite = await PGlite.create(dataDir, initialData ? { loadDataDir: initialData } : {});
    const { applied } = await applyMigrations(pgliteExecutor(pglite), migrationsDir);
    const prisma = new PrismaClient({ adapter: new PrismaPGlite(pglite) });
    const openPglite = pglite;
    return {
      prisma,
      kind: "embedded",
      appliedMigrations: applied,
      async close() {
        try {
          await prisma.$disconnect();
          await openPglite.close();
        } finally {
          lock?.release();
        }
      },
    };
  } catch (error) {
    await pglite?.close().catch(() => {});
    lock?.release();
    throw error;
  }
}

async function openPostgresDatabase(url: string, migrationsDir: string, poolSize?: number): Promise<Database> {
  // One dedicated connection for the run: the advisory lock belongs to a session, not a pool.
  const migrationClient = new Client({ connectionString: url });
  await migrationClient.connect();
  let applied: string[];
  try {
    ({ applied } = await applyMigrations(pgClientExecutor(migrationClient), migrationsDir));
  } finally {
    await migrationClient.end();
  }
  const pool = new Pool({ connectionString: url, max: poolSize });
  const prisma = new PrismaClient({ adapter: new PrismaPg(pool) });
  return {
    prisma,
    kind: "postgres",
    appliedMigrations: applied,
    async close() {
      await prisma.$disconnect();
      await pool.end();
    },
  };
}

export function pgliteExecutor(db: PGlite | Transaction): SqlExecutor {
  return {
    async query<Row>(sql: string, params?: unknown[]) {
      return (await db.query<Row>(sql, params)).rows;
    },
    async executeScript(sql) {
      await db.exec(sql);
    },
    async transaction(work) {
      if (!("transaction" in db)) throw new Error("PGlite transactions cannot be nested.");
      await db.transaction((tx) => work(pgliteExecutor(tx)));
    },
  };
}

export function pgClientExecutor(client: ClientBase): SqlExecutor {
  return {
    async query<Row extends Record<string, unknown>>(sql: string, params?: unknown[]) {
      return (await client.query<Row>(sql, params)).rows;
    },
    async executeScript(sql) {
      await client.query(sql);
    },
    async transaction(work) {
      await client.query("BEGIN");
      try {
        await work(pgClientExecutor(client));
        await client.query("COMMIT");
      } catch (error) {
        await client.query("ROLLBACK");
        throw error;
      }
    },
  };
}
