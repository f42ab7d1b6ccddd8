import { randomUUID } from "node:crypto";
import { Client } from "pg";
import { afterEach, describe, expect, test } from "vitest";
import { parseConfig } from "~/config/env.server.ts";
import { DEMO_ACCOUNTS } from "~/demo/demo-accounts.ts";
import { seedDemoAccounts } from "~/demo/seed.server.ts";
import { type Services, startServices } from "~/start-services.server.ts";
import { createTestDatabase } from "./database.ts";
import { captureLog } from "./support/log-capture.ts";

const serverUrl = process.env.TEST_DATABASE_URL;
const demoEmails = DEMO_ACCOUNTS.map((account) => account.email).toSorted();

let cleanups: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.toReversed()) await cleanup();
  cleanups = [];
});

/** A new, empty database on the test server (not migrated: the instances do that), dropped after the test. */
async function freshDatabaseUrl(): Promise<string> {
  const name = `test_seed_${randomUUID().replaceAll("-", "")}`;
  const admin = new Client({ connectionString: serverUrl });
  await admin.connect();
  await admin.query(`CREATE DATABASE "${name}"`);
  cleanups.push(async () => {
    // A closed pool's connections take a moment to leave the server: dropping under them would kill them mid-goodbye.
    for (let waited = 0; waited < 5_000; waited += 50) {
      const { rows } = await admin.query<{ sessions: number }>(
        "SELECT count(*)::int AS sessions FROM pg_stat_activity WHERE datname = $1",
        [name],
      );
      if (rows[0]!.sessions === 0) break;
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    await admin.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
    await admin.end();
  });
  const url = new URL(serverUrl!);
  url.pathname = `/${name}`;
  return url.toString();
}

async function query<Row extends Record<string, unknown>>(url: string, sql: string): Promise<Row[]> {
  const client = new Client({ connectionString: url });
  await client.connect();
  try {
    return (await client.query<Row>(sql)).rows;
  } finally {
    await client.end();
  }
}

describe.skipIf(!serverUrl)("instances started at the same moment on one new PostgreSQL database", () => {
  test("all five start, and the demo users exist once, each with one password and its customer", async () => {
    const databaseUrl = await freshDatabaseUrl();
    const log = captureLog();
    cleanups.push(async () => log.restore());
    // A development start: migrations, demo seeding and an emulator of its own, as `npm start` does.
    const config = parseConfig({ DATABASE_URL: databaseUrl, DATABASE_POOL_SIZE: "2", PAYMENT_PROVIDER: "stripe" });

    const starts = await Promise.allSettled(Array.from({ length: 5 }, () => startServices(config)));
    for (const start of starts) {
      if (start.status === "fulfilled") cleanups.push(() => (start.value satisfies Services).stop());
    }

    expect(starts.map((start) => (start.status === "fulfilled" ? "started" : String(start.reason)))).toEqual(
      Array(5).fill("started"),
    );
    const users = await query<{ email: string; passwords: number }>(
      databaseUrl,
      `SELECT u.email, (SELECT count(*)::int FROM "Password" p WHERE p."userId" = u.id) AS passwords FROM "User" u ORDER BY u.email`,
    );
    expect(users).toEqual(demoEmails.map((email) => ({ email, passwords: 1 })));
    const customers = await query<{ email: string; provider: string; providerCustomerId: string }>(
      databaseUrl,
      // A customer belongs to an organisation (ADR 028): its owner's email names it (Acme's is team@demo.test).
      `SELECT u.email, c.provider::text, c."providerCustomerId" FROM "Customer" c
         JOIN "Membership" m ON m."organizationId" = c."organizationId" AND m.role = 'owner'
         JOIN "User" u ON u.id = m."userId" ORDER BY u.email`,
    );
    expect(customers).toEqual(
      DEMO_ACCOUNTS.flatMap((account) => (account.customer ? [{ email: account.email, ...account.customer }] : [])).toSorted(
        (a, b) => a.email.localeCompare(b.email),
      ),
    );
    // Seeding ran once: one instance created the users, the others found them.
    const seeded = log.lines.map((line) => JSON.parse(line) as { event?: string; users?: number }).filter((line) => line.event === "demo.seeded");
    expect(seeded).toEqual([expect.objectContaining({ users: DEMO_ACCOUNTS.length })]);
  }, 60_000);
});

test("a seed that fails says so in one line, naming the demo users, without Prisma's multi-line report", async () => {
  const database = await createTestDatabase();
  cleanups.push(() => database.close());
  // A database the seed cannot write to: its users table is gone.
  await database.prisma.$executeRawUnsafe(`DROP TABLE "User" CASCADE`);

  const seeding = seedDemoAccounts(database.prisma);
  await expect(seeding).rejects.toThrow(/^Cannot seed the demo users: /);
  await expect(seeding).rejects.toSatisfy((error: Error) => !error.message.includes("\n"));
});
