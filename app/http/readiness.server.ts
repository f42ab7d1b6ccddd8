import { readMigrations } from "~/db/migrations.server.ts";
import { logEvent } from "~/observability/log.server.ts";

/** A probe must answer well within a load balancer's check interval, even when the database hangs. */
const READINESS_TIMEOUT_MS = 2_000;

type RawQuery = { $queryRawUnsafe<T = unknown>(query: string): Promise<T> };

let expectedMigrations: Promise<string[]> | undefined;
let lastReady: boolean | undefined;

/**
 * Ready means the database answers and every migration this build ships is
 * recorded as applied. Checked on each call, so readiness comes back by
 * itself when the database does. State changes are logged once, never the
 * database's own error text.
 */
export async function checkReadiness(prisma: RawQuery): Promise<boolean> {
  const ready = await withTimeout(probe(prisma), READINESS_TIMEOUT_MS).catch(() => false);
  if (ready !== lastReady) {
    logEvent(ready ? "info" : "warn", ready ? "readiness.ready" : "readiness.not_ready");
    lastReady = ready;
  }
  return ready;
}

async function probe(prisma: RawQuery): Promise<boolean> {
  await prisma.$queryRawUnsafe("SELECT 1");
  expectedMigrations ??= readMigrations().then((migrations) => migrations.map((migration) => migration.name));
  const rows = await prisma.$queryRawUnsafe<{ migration_name: string }[]>(
    "SELECT migration_name FROM _prisma_migrations WHERE finished_at IS NOT NULL AND rolled_back_at IS NULL",
  );
  const applied = new Set(rows.map((row) => row.migration_name));
  return (await expectedMigrations).every((name) => applied.has(name));
}

function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error("readiness probe timed out")), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}
