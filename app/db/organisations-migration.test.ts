import { randomUUID } from "node:crypto";
import { cpSync, mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { PGlite } from "@electric-sql/pglite";
import { Client } from "pg";
import { afterAll, describe, expect, test } from "vitest";
import { pgClientExecutor, pgliteExecutor } from "~/db/database.server.ts";
import { applyMigrations, type SqlExecutor } from "~/db/migrations.server.ts";
import { emptyEmbeddedDataDir } from "../../tests/database.ts";

// Issue 17: the organisations migration on a database that already holds users, customers, subscriptions,
// billing activity and sessions (embedded and, with TEST_DATABASE_URL, PostgreSQL): every user gets a personal
// organisation they own, their rows move to it, and running the migration again changes nothing.

const projectMigrationsDir = path.resolve("prisma/migrations");
const ORGANISATIONS = readdirSync(projectMigrationsDir).find((name) => name.endsWith("_organisations"))!;
const serverUrl = process.env.TEST_DATABASE_URL;
const folders: string[] = [];
afterAll(() => {
  for (const folder of folders) rmSync(folder, { recursive: true, force: true });
});

/** The project's migrations before the organisations one. */
function migrationsBeforeOrganisations(): string {
  const folder = mkdtempSync(path.join(tmpdir(), "migrations-before-orgs-"));
  folders.push(folder);
  for (const name of readdirSync(projectMigrationsDir)) {
    if (name < ORGANISATIONS) cpSync(path.join(projectMigrationsDir, name), path.join(folder, name), { recursive: true });
  }
  return folder;
}

type Opened = { sql: SqlExecutor; close: () => Promise<void> };

async function openEmbedded(): Promise<Opened> {
  const pglite = await PGlite.create("memory://", { loadDataDir: await emptyEmbeddedDataDir() });
  return { sql: pgliteExecutor(pglite), close: () => pglite.close() };
}

async function openServer(): Promise<Opened> {
  const databaseName = `test_orgs_migration_${randomUUID().replaceAll("-", "")}`;
  const admin = new Client({ connectionString: serverUrl });
  await admin.connect();
  await admin.query(`CREATE DATABASE "${databaseName}"`);
  const url = new URL(serverUrl!);
  url.pathname = `/${databaseName}`;
  const client = new Client({ connectionString: url.toString() });
  await client.connect();
  return {
    sql: pgClientExecutor(client),
    async close() {
      await client.end();
      await admin.query(`DROP DATABASE IF EXISTS "${databaseName}" WITH (FORCE)`);
      await admin.end();
    },
  };
}

/** Two users with billing history, one without, as the app stored them before organisations. */
const BEFORE = `
  INSERT INTO "User" ("id", "email", "updatedAt") VALUES ('u_ann', 'ann@example.test', now()), ('u_bob', 'bob@example.test', now()), ('u_cy', 'cy@example.test', now());
  INSERT INTO "Customer" ("id", "provider", "providerCustomerId", "updatedAt", "userId") VALUES
    ('c_ann_stripe', 'stripe', 'cus_Ann', now(), 'u_ann'), ('c_ann_polar', 'polar', 'polar-ann', now(), 'u_ann'), ('c_bob', 'stripe', 'cus_Bob', now(), 'u_bob');
  INSERT INTO "Subscription" ("id", "provider", "providerSubscriptionId", "providerCustomerId", "plan", "status", "providerUpdatedAt", "updatedAt", "userId") VALUES
    ('s_ann', 'stripe', 'sub_Ann', 'cus_Ann', 'pro', 'active', now(), now(), 'u_ann'), ('s_bob', 'stripe', 'sub_Bob', 'cus_Bob', 'starter', 'past_due', now(), now(), 'u_bob');
  INSERT INTO "BillingActivity" ("id", "userId", "provider", "action", "intent", "outcome") VALUES
    ('a_ann', 'u_ann', 'stripe', 'portal_open', 'manage', 'success'), ('a_bob', 'u_bob', 'stripe', 'checkout_start', 'starter', 'success');
  INSERT INTO "Session" ("id", "expirationDate", "userId") VALUES ('sess_ann', now() + interval '1 day', 'u_ann');`;

/** Everything the migration writes or moves, in a stable order. */
async function snapshot(sql: SqlExecutor) {
  return {
    organizations: await sql.query(`SELECT "id", "name", "personal" FROM "Organization" ORDER BY "id"`),
    memberships: await sql.query(`SELECT "id", "organizationId", "userId", "role"::text AS "role" FROM "Membership" ORDER BY "id"`),
    customers: await sql.query(`SELECT "id", "organizationId", "provider"::text AS "provider", "providerCustomerId" FROM "Customer" ORDER BY "id"`),
    subscriptions: await sql.query(`SELECT "id", "organizationId", "status"::text AS "status" FROM "Subscription" ORDER BY "id"`),
    activity: await sql.query(`SELECT "id", "organizationId" FROM "BillingActivity" ORDER BY "id"`),
    sessions: await sql.query(`SELECT "id", "currentOrganizationId" FROM "Session" ORDER BY "id"`),
  };
}

describe.each([
  { name: "embedded (PGlite)", open: openEmbedded },
  ...(serverUrl ? [{ name: "PostgreSQL server", open: openServer }] : []),
])("the organisations migration on the $name", ({ open }) => {
  test("moves every user's billing to a personal organisation they own; a second run changes nothing", { timeout: 60_000 }, async () => {
    const { sql, close } = await open();
    try {
      await applyMigrations(sql, migrationsBeforeOrganisations());
      await sql.executeScript(BEFORE);

      // The organisations migration first, then the later ones (which leave this data alone).
      expect((await applyMigrations(sql, projectMigrationsDir)).applied[0]).toBe(ORGANISATIONS);
      const after = await snapshot(sql);
      expect(after.organizations).toEqual([
        { id: "personal_u_ann", name: "Personal", personal: true },
        { id: "personal_u_bob", name: "Personal", personal: true },
        { id: "personal_u_cy", name: "Personal", personal: true },
      ]);
      expect(after.memberships).toEqual(
        ["u_ann", "u_bob", "u_cy"].map((user) => ({ id: `personal_${user}`, organizationId: `personal_${user}`, userId: user, role: "owner" })),
      );
      expect(after.customers).toEqual([
        { id: "c_ann_polar", organizationId: "personal_u_ann", provider: "polar", providerCustomerId: "polar-ann" },
        { id: "c_ann_stripe", organizationId: "personal_u_ann", provider: "stripe", providerCustomerId: "cus_Ann" },
        { id: "c_bob", organizationId: "personal_u_bob", provider: "stripe", providerCustomerId: "cus_Bob" },
      ]);
      expect(after.subscriptions).toEqual([
        { id: "s_ann", organizationId: "personal_u_ann", status: "active" },
        { id: "s_bob", organizationId: "personal_u_bob", status: "past_due" },
      ]);
      expect(after.activity).toEqual([
        { id: "a_ann", organizationId: "personal_u_ann" },
        { id: "a_bob", organizationId: "personal_u_bob" },
      ]);
      expect(after.sessions).toEqual([{ id: "sess_ann", currentOrganizationId: "personal_u_ann" }]);
      const userColumns = await sql.query(
        `SELECT table_name FROM information_schema.columns WHERE table_schema = current_schema() AND column_name = 'userId' AND table_name IN ('Customer', 'Subscription', 'BillingActivity')`,
      );
      expect(userColumns).toEqual([]);

      // Idempotent: the same script again (a restored ledger, a hand re-run) changes nothing.
      await sql.executeScript(readFileSync(path.join(projectMigrationsDir, ORGANISATIONS, "migration.sql"), "utf8"));
      expect(await snapshot(sql)).toEqual(after);

      // Users made afterwards get theirs from the database itself; deleting one takes it away.
      await sql.executeScript(`INSERT INTO "User" ("id", "email", "updatedAt") VALUES ('u_dee', 'dee@example.test', now())`);
      expect(await sql.query(`SELECT "organizationId", "role"::text AS "role" FROM "Membership" WHERE "userId" = 'u_dee'`)).toEqual([
        { organizationId: "personal_u_dee", role: "owner" },
      ]);
      await sql.executeScript(`DELETE FROM "User" WHERE "id" = 'u_dee'`);
      expect(await sql.query(`SELECT "id" FROM "Organization" WHERE "id" = 'personal_u_dee'`)).toEqual([]);
    } finally {
      await close();
    }
  });
});
