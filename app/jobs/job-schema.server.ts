import { PgBoss, type Db } from "pg-boss";

/** The PostgreSQL schema pg-boss keeps its tables in, beside ours (ADR 027). */
export const JOB_SCHEMA = "pgboss";

/** The session advisory lock that lets one starting instance at a time install or upgrade pg-boss's schema. */
export const JOB_SCHEMA_LOCK_KEY = 7_202_612_070;

/** The minimal driver pg-boss needs: node-postgres's `query` (a pool, or one client). */
export type QueryDriver = { query(config: { text: string; values?: unknown[] }): Promise<unknown> };

/**
 * pg-boss over our own node-postgres driver: unnamed statements only (the embedded database's connections share
 * one PGlite session, where named prepared statements would collide, ADR 015), and node-postgres's result as it
 * is, an array for a multi-statement query, which pg-boss reads statement by statement.
 */
export function overDriver(driver: QueryDriver, options: { oneConnection?: boolean } = {}): Db {
  return {
    async executeSql(text, values) {
      try {
        return (await driver.query({ text, values: values ?? [] })) as { rows: unknown[] };
      } catch (error) {
        // pg-boss runs some multi-statement blocks in an explicit transaction and swallows some of their failures
        // (an install that lost the race to another instance). A pool drops a connection whose statement failed;
        // one connection (the migration client) must leave the aborted transaction itself, or every later
        // statement fails with "current transaction is aborted".
        if (options.oneConnection) await driver.query({ text: "ROLLBACK" }).catch(() => undefined);
        throw error;
      }
    },
  };
}

/**
 * Installs pg-boss's schema, or upgrades it to this pg-boss's version, under pg-boss's own transaction-scoped
 * advisory lock, so instances starting at once on one database install it once. `openDatabase` calls it after
 * our migrations, so every database the app opens (and the tests' migrated templates) has it.
 */
export async function ensureJobSchema(db: Db): Promise<void> {
  const boss = new PgBoss({ db, schema: JOB_SCHEMA, supervise: false, schedule: false, registerInstance: false, useListenNotify: false });
  const errors: unknown[] = [];
  boss.on("error", (error: unknown) => errors.push(error));
  await boss.start();
  await boss.stop({ graceful: false, close: false });
  if (errors.length > 0) throw errors[0];
}
