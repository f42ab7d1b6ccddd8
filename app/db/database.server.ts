import { execFile } from "node:child_process";
import { existsSync } from "node:fs";
import { createRequire } from "node:module";
import path from "node:path";
import { pathToFileURL } from "node:url";
import { promisify } from "node:util";
import type { PGlite, Transaction } from "@electric-sql/pglite";
import type { SqlDriverAdapterFactory } from "@prisma/driver-adapter-utils";
import { PrismaPg } from "@prisma/adapter-pg";
import { ensureJobSchema, JOB_SCHEMA_LOCK_KEY, overDriver } from "~/jobs/job-schema.server.ts";
import { Client, Pool, type ClientBase, type ClientConfig } from "pg";
import { PrismaClient } from "~/db/generated/client.ts";
import { lockDataDir } from "~/db/embedded-lock.server.ts";
import { type EmbeddedServer, startEmbeddedServer } from "~/db/embedded-server.server.ts";
import { applyMigrations, DEFAULT_MIGRATIONS_DIR, type SqlExecutor } from "~/db/migrations.server.ts";
import { logEvent } from "~/observability/log.server.ts";

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
  /** Called with every SQL statement Prisma sends (tests count them; an operator may trace them). */
  onQuery?: (sql: string) => void;
}

function createPrismaClient(adapter: SqlDriverAdapterFactory, onQuery?: (sql: string) => void) {
  if (!onQuery) return new PrismaClient({ adapter });
  const prisma = new PrismaClient({ adapter, log: [{ emit: "event", level: "query" }] });
  prisma.$on("query", (event) => onQuery(event.query));
  return prisma;
}

/**
 * One SQL statement straight to the driver (node-postgres or PGlite), for the one read on every
 * signed-in request: Prisma's pipeline around a raw query (its interpreter and result mapping)
 * cost about a tenth of that request's CPU (issue 9). Parameters are always bound, never spliced.
 */
export type RawRead = <Row>(sql: string, params: readonly unknown[]) => Promise<Row[]>;

/**
 * The driver's own query, for libraries that speak node-postgres (rate-limiter-flexible's PostgreSQL
 * store): named statements are prepared once per connection.
 */
export interface DriverClient {
  query(config: { text: string; values?: unknown[]; name?: string }): Promise<{ rows: Record<string, unknown>[]; rowCount: number | null }>;
}

const driversByClient = new WeakMap<PrismaClient, DriverClient>();

/** The node-postgres driver `openDatabase` made this Prisma client with (the job runner's pg-boss uses it). */
export function driverFor(prisma: PrismaClient): DriverClient | undefined {
  return driversByClient.get(prisma);
}

export interface Database {
  prisma: PrismaClient;
  read: RawRead;
  driver: DriverClient;
  kind: DatabaseTarget["kind"];
  /** Names of the migrations this open applied (empty when the database was up to date). */
  appliedMigrations: string[];
  close(): Promise<void>;
}

/**
 * Connections to the embedded database's thread. PGlite runs one statement at a time whatever the
 * number; with several, the next statements are already queued in its thread when one finishes,
 * instead of waiting for this thread to send them (issue 9: about a quarter more requests per
 * second at c=100 than with one). A transaction keeps the database to itself (embedded-worker.ts).
 */
const EMBEDDED_POOL_SIZE = 4;

/** Opens the database, migrated: the only way the app gets a PrismaClient. */
export async function openDatabase(target: DatabaseTarget, options: DatabaseOptions = {}): Promise<Database> {
  const migrationsDir = options.migrationsDir ?? DEFAULT_MIGRATIONS_DIR;
  return target.kind === "embedded"
    ? openEmbeddedDatabase(target.dataDir, target.initialData, migrationsDir, options.onQuery)
    : openPostgresDatabase(target.url, migrationsDir, target.poolSize, options.onQuery);
}

/**
 * The embedded PostgreSQL's settings: PostgreSQL's default 128 MB of shared buffers is most of
 * what PGlite holds in memory, for a database of a few megabytes that the operating system's
 * page cache holds anyway (issue 9: 16 MB saved about 120 MB of resident memory, 8 MB another 8).
 */
export const EMBEDDED_POSTGRESQL_CONF = ["shared_buffers = 8MB"];

/**
 * A new data folder is made by PGlite's initdb in a short-lived process of its own, as
 * PostgreSQL's `initdb` is a program of its own: initdb grows the WebAssembly memory to
 * about a gigabyte, and WebAssembly memory never shrinks, so done here it would stay in the
 * server's resident set for good (issue 9: start-up peak and idle memory).
 */
async function initializeDataDirInChildProcess(dataDir: string): Promise<void> {
  const pglite = pathToFileURL(createRequire(import.meta.url).resolve("@electric-sql/pglite")).href;
  const script = [
    `const { PGlite } = await import(${JSON.stringify(pglite)});`,
    `const db = await PGlite.create(process.argv[1], { postgresqlconf: ${JSON.stringify(EMBEDDED_POSTGRESQL_CONF)} });`,
    "await db.close();",
  ].join("\n");
  try {
    await promisify(execFile)(process.execPath, ["--input-type=module", "-e", script, dataDir], { timeout: 120_000 });
  } catch (error) {
    const stderr = (error as { stderr?: string }).stderr?.trim().split("\n").at(-1);
    throw new Error(`Cannot create the embedded database in ${dataDir}${stderr ? `: ${stderr}` : ""}`, { cause: error });
  }
}

/**
 * The embedded database runs in a worker thread of its own (`embedded-server.server.ts`, ADR 015)
 * and this process reaches it as it reaches a PostgreSQL server: the same driver, pool,
 * migrations runner and Prisma adapter for both modes.
 */
async function openEmbeddedDatabase(
  dataDir: string,
  initialData: Blob | undefined,
  migrationsDir: string,
  onQuery?: (sql: string) => void,
): Promise<Database> {
  const lock = dataDir.startsWith("memory://") ? undefined : lockDataDir(dataDir);
  let server: EmbeddedServer | undefined;
  try {
    // A new folder (not in memory, not from a given cluster) is made in a process of its own.
    if (lock && !initialData && !existsSync(path.join(dataDir, "PG_VERSION"))) await initializeDataDirInChildProcess(dataDir);
    server = await startEmbeddedServer({ dataDir, postgresqlconf: EMBEDDED_POSTGRESQL_CONF, initialData });
    const database = await openOverWire(server.connection, {
      poolSize: EMBEDDED_POOL_SIZE,
      cannotUse: `Cannot use the embedded database in ${dataDir}`,
      sharedBackend: true,
      migrationsDir,
      onQuery,
    });
    const openServer = server;
    return {
      ...database,
      kind: "embedded",
      async close() {
        try {
          await database.close();
          await openServer.stop();
        } finally {
          lock?.release();
        }
      },
    };
  } catch (error) {
    await server?.stop().catch(() => {});
    lock?.release();
    throw error;
  }
}

/** The database cannot be reached or used: says which, never the URL (it may carry a password). */
export class DatabaseConnectionError extends Error {
  override readonly name = "DatabaseConnectionError";
}

const CONNECTION_PROBLEMS: Record<string, string> = {
  ECONNREFUSED: "nothing accepts connections at its host and port",
  ENOTFOUND: "its host name does not resolve",
  EAI_AGAIN: "its host name does not resolve",
  ETIMEDOUT: "the connection timed out",
  EHOSTUNREACH: "its host is unreachable",
  "3D000": "the database it names does not exist",
  "28P01": "the server refused its user name or password",
  "28000": "the server refused its user name or password",
  "55000": "the database does not accept connections",
  "57P03": "the server is starting up or shutting down",
};

function connectionProblem(error: unknown): string {
  if (error instanceof TypeError && /Invalid URL/i.test(error.message)) return "it is not a valid URL";
  const code = (error as { code?: unknown; errors?: { code?: unknown }[] }).code ?? (error as { errors?: { code?: unknown }[] }).errors?.[0]?.code;
  return (typeof code === "string" && CONNECTION_PROBLEMS[code]) || `the connection failed (${typeof code === "string" ? code : "no error code"})`;
}

function openPostgresDatabase(url: string, migrationsDir: string, poolSize?: number, onQuery?: (sql: string) => void) {
  return openOverWire({ connectionString: url }, { poolSize, cannotUse: "Cannot use the PostgreSQL server in DATABASE_URL", migrationsDir, onQuery });
}

/** A PostgreSQL server (or the embedded database's worker) reached through node-postgres, migrated first. */
async function openOverWire(
  connection: ClientConfig,
  options: { poolSize?: number; cannotUse: string; migrationsDir: string; onQuery?: (sql: string) => void; sharedBackend?: boolean },
): Promise<Database> {
  // One dedicated connection for the run: the advisory lock belongs to a session, not a pool.
  let migrationClient: Client;
  try {
    migrationClient = new Client(connection);
    await migrationClient.connect();
  } catch (error) {
    throw new DatabaseConnectionError(`${options.cannotUse}: ${connectionProblem(error)}.`, { cause: error });
  }
  let applied: string[];
  try {
    ({ applied } = await applyMigrations(pgClientExecutor(migrationClient), options.migrationsDir));
    // pg-boss's schema (the job runner, ADR 027) is part of every database the app opens, like a migration. Its
    // install begins with CREATE SCHEMA IF NOT EXISTS, which is not safe against another instance starting at the
    // same moment (a unique violation on pg_namespace, tests/demo-seed.test.ts): one instance at a time.
    await migrationClient.query("SELECT pg_advisory_lock($1)", [JOB_SCHEMA_LOCK_KEY]);
    try {
      await ensureJobSchema(overDriver(migrationClient, { oneConnection: true }));
    } finally {
      await migrationClient.query("SELECT pg_advisory_unlock($1)", [JOB_SCHEMA_LOCK_KEY]).catch(() => undefined);
    }
  } finally {
    await migrationClient.end();
  }
  const pool = new Pool({ ...connection, max: options.poolSize });
  // An idle connection the server ends (a restart, a failover, a proxy's idle timeout, DROP DATABASE) is an
  // 'error' on the pool, which throws when nobody listens: the whole process would stop. The pool has already
  // dropped that connection and opens another when asked; it is logged, by its code only (no message text).
  pool.on("error", (error: Error & { code?: string }) => {
    logEvent("warn", "database.idle_connection_lost", { code: typeof error.code === "string" ? error.code : "unknown" });
  });
  const { onQuery } = options;
  const prisma = createPrismaClient(new PrismaPg(pool), onQuery);
  const driver: DriverClient = {
    query({ text, values, name }) {
      onQuery?.(text);
      // The embedded database's connections share one PGlite backend (ADR 015), where a statement prepared under a
      // name by one connection collides with the same name prepared by another: there every statement is unnamed.
      return pool.query(options.sharedBackend ? { text, values } : { text, values, name });
    },
  };
  driversByClient.set(prisma, driver);
  return {
    prisma,
    read: async <Row,>(sql: string, params: readonly unknown[]) => {
      onQuery?.(sql);
      return (await pool.query({ text: sql, values: [...params] })).rows as Row[];
    },
    driver,
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
