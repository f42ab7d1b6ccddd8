import { describe, expect, test } from "vitest";
import { Client } from "pg";
import { captureLog } from "../../tests/support/log-capture.ts";
import { createTestDatabase } from "../../tests/database.ts";

describe("test databases", () => {
  test("each one is migrated, empty, and apart from the others", async () => {
    const [a, b] = await Promise.all([createTestDatabase(), createTestDatabase()]);
    try {
      await a.prisma.user.create({ data: { email: "only-in-a@example.test" } });
      expect(await a.prisma.user.count()).toBe(1);
      expect(await b.prisma.user.count()).toBe(0);
      expect(await b.prisma.customer.count()).toBe(0);
    } finally {
      await Promise.all([a.close(), b.close()]);
    }
  }, 30_000);
});

const serverUrl = process.env.TEST_DATABASE_URL;
describe.skipIf(!serverUrl)("on a PostgreSQL server", () => {
  test("an idle connection the server ends is logged, and the next query opens another", async () => {
    const database = await createTestDatabase();
    const log = captureLog();
    const admin = new Client({ connectionString: serverUrl });
    await admin.connect();
    try {
      const name = (await database.read<{ name: string }>("SELECT current_database() AS name", []))[0]!.name;
      // As a PostgreSQL restart or a failover would: every connection of this database ends while idle in the pool.
      await admin.query("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1", [name]);
      const deadline = Date.now() + 5_000;
      while (!log.text().includes("database.idle_connection_lost") && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
      expect(log.lines.map((line) => JSON.parse(line) as Record<string, unknown>)).toContainEqual(
        expect.objectContaining({ event: "database.idle_connection_lost", code: "57P01" }),
      );
      expect(await database.read("SELECT 1 AS one", [])).toEqual([{ one: 1 }]);
      expect(await database.prisma.user.count()).toBe(0);
    } finally {
      log.restore();
      await admin.end();
      await database.close();
    }
  }, 60_000);
});
