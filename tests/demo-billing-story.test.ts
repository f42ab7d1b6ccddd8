import { afterAll, beforeAll, expect, test } from "vitest";
import { PROVIDER_IDS } from "~/billing/providers/provider.ts";
import { createBillingProvider } from "~/billing/providers/registry.server.ts";
import { createBillingSync } from "~/billing/sync/sync.server.ts";
import { configuredPlans } from "~/billing/sync/sync-providers.server.ts";
import { parseConfig } from "~/config/env.server.ts";
import type { Database } from "~/db/database.server.ts";
import { DEMO_ACCOUNTS } from "~/demo/demo-accounts.ts";
import { demoPeriod } from "~/demo/demo-billing-story.ts";
import { seedDemoAccounts } from "~/demo/seed.server.ts";
import { routeLemonSqueezyApiTo } from "../emulator/lemonsqueezy-routing.ts";
import { startProviderEmulator, type ProviderEmulator } from "../emulator/provider-emulator.ts";
import { createTestDatabase } from "./database.ts";

// Issue 16: the demo seed and the emulator tell the same story (ids, statuses, renewal dates), from one source.

let emulator: ProviderEmulator;
let database: Database;
let undoRouting: () => void;
beforeAll(async () => {
  emulator = await startProviderEmulator({ appReturnUrl: "http://app.test/account" });
  undoRouting = routeLemonSqueezyApiTo(emulator.origin);
  database = await createTestDatabase();
  await seedDemoAccounts(database.prisma);
}, 60_000);
afterAll(async () => {
  undoRouting();
  await emulator.close();
  await database.close();
});

test("every demo subscription has the same id, status and renewal date in the seed and in the emulator", async () => {
  const seeded = await database.prisma.subscription.findMany({ orderBy: { providerSubscriptionId: "asc" } });
  const emulated = emulator.lifecycle.summaries().filter((summary) => seeded.some((row) => row.providerSubscriptionId === summary.id));
  expect(emulated).toHaveLength(seeded.length);
  expect(seeded.length).toBeGreaterThanOrEqual(4);
  for (const row of seeded) {
    const twin = emulated.find((summary) => summary.id === row.providerSubscriptionId)!;
    expect([twin.provider, twin.status, twin.plan, twin.currentPeriodEnd]).toEqual([row.provider, row.status, row.plan, row.currentPeriodEnd?.toISOString()]);
  }
});

test("so billing:sync over the fresh demo finds nothing to repair", async () => {
  const config = parseConfig({ APP_ENV: "test", PAYMENT_EMULATOR: "1" });
  const providers = Object.fromEntries(PROVIDER_IDS.map((id) => [id, createBillingProvider({ ...config.billing, emulatorOrigin: emulator.origin }, id)]));
  const report = await createBillingSync({ prisma: database.prisma, providers, plans: configuredPlans(config) }).run({ all: true }, { dryRun: true });
  expect(report).toEqual({ differences: [], customers: DEMO_ACCOUNTS.filter((account) => account.customer).length, errors: [] });
});

test("the demo period is the month around now, renewing on the 5th", () => {
  expect(demoPeriod(new Date("2026-12-07T00:00:00Z"))).toEqual({ start: new Date("2026-12-05T10:00:00Z"), end: new Date("2027-01-05T10:00:00Z") });
  expect(demoPeriod(new Date("2027-01-05T09:59:59Z"))).toEqual({ start: new Date("2026-12-05T10:00:00Z"), end: new Date("2027-01-05T10:00:00Z") });
  expect(demoPeriod(new Date("2027-01-05T10:00:00Z")).end).toEqual(new Date("2027-02-05T10:00:00Z"));
});
