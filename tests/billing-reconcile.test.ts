import { afterAll, beforeAll, expect, test } from "vitest";
import { PROVIDER_IDS, type BillingProvider } from "~/billing/providers/provider.ts";
import { createBillingProvider } from "~/billing/providers/registry.server.ts";
import { createReconciler, startReconcilerSchedule } from "~/billing/sync/reconciler.server.ts";
import { configuredPlans } from "~/billing/sync/sync-providers.server.ts";
import { parseConfig } from "~/config/env.server.ts";
import type { Database } from "~/db/database.server.ts";
import { routeLemonSqueezyApiTo } from "../emulator/lemonsqueezy-routing.ts";
import { startProviderEmulator, type ProviderEmulator } from "../emulator/provider-emulator.ts";
import { createTestDatabase } from "./database.ts";
import { subscriberFactory } from "./support/billing-sync-fixtures.ts";
import { captureLog } from "./support/log-capture.ts";
import { personalOrganizationId } from "~/orgs/billing-owner.ts";

// SPEC "Keeping billing state true": the reconciler, on a real database (embedded, or TEST_DATABASE_URL) against
// the emulator: one instance at a time, oldest-checked first, within its calls per minute, drift logged.

let emulator: ProviderEmulator;
let database: Database;
let undoRouting: () => void;
const config = parseConfig({ APP_ENV: "test", PAYMENT_EMULATOR: "1" });
const subscriber = subscriberFactory(() => emulator, () => database, "recon", 100);

beforeAll(async () => {
  emulator = await startProviderEmulator({ appReturnUrl: "http://app.test/account", webhooks: { waitForDeliveryMs: 0 } });
  undoRouting = routeLemonSqueezyApiTo(emulator.origin);
  database = await createTestDatabase();
}, 60_000);
afterAll(async () => {
  undoRouting();
  await emulator.close();
  await database.close();
});

function reconciler(
  options: { callsPerMinute?: number; holder?: string; now?: () => number; wait?: (ms: number) => Promise<void>; onCall?: () => void | Promise<void> } = {},
) {
  const providers = Object.fromEntries(
    PROVIDER_IDS.map((id) => {
      const provider = createBillingProvider({ ...config.billing, emulatorOrigin: emulator.origin }, id);
      const listSubscriptionPage: BillingProvider["listSubscriptionPage"] = async (query) => {
        await options.onCall?.();
        return provider.listSubscriptionPage!(query);
      };
      return [id, { ...provider, listSubscriptionPage }];
    }),
  );
  return createReconciler({
    prisma: database.prisma,
    providers,
    plans: configuredPlans(config),
    callsPerMinute: options.callsPerMinute ?? 10_000,
    runLimitMs: 60 * 60_000,
    holder: options.holder,
    now: options.now,
    wait: options.wait,
  });
}

test("two instances on one database: one runs, the other finds the lease taken; a silent cancel is repaired and logged", async () => {
  const owner = await subscriber("stripe", 1);
  await reconciler().reconcileOnce();
  await emulator.lifecycle.act("stripe", owner.ids[0]!, { action: "cancel" }, { silent: true });

  const log = captureLog();
  let results;
  try {
    // Instance A is held inside its run (at its first provider call) while instance B tries: the two runs overlap
    // whatever the machine's speed, as two instances' timers would.
    let letAGo!: () => void;
    const aMayGo = new Promise<void>((resolve) => (letAGo = resolve));
    let aIsRunning!: () => void;
    const aRunning = new Promise<void>((resolve) => (aIsRunning = resolve));
    const a = reconciler({
      holder: "instance-a",
      onCall: async () => {
        aIsRunning();
        await aMayGo;
      },
    }).reconcileOnce();
    await aRunning;
    const b = await reconciler({ holder: "instance-b" }).reconcileOnce();
    letAGo();
    results = [await a, b];
  } finally {
    log.restore();
  }
  expect(results.filter((result) => result.ran)).toHaveLength(1);
  expect(results.filter((result) => !result.ran)).toHaveLength(1);
  const row = await database.prisma.subscription.findFirstOrThrow({ where: { organizationId: personalOrganizationId(owner.userId)} });
  expect(row.cancelAtPeriodEnd).toBe(true);
  const drift = log.lines.map((line) => JSON.parse(line) as Record<string, unknown>).filter((entry) => entry.event === "billing.reconcile.drift");
  expect(drift).toEqual([
    expect.objectContaining({ provider: "stripe", organizationId: personalOrganizationId(owner.userId), subscription: owner.ids[0], field: "cancelAtPeriodEnd", before: "false", after: "true" }),
  ]);
  expect(log.text()).not.toContain(owner.email);
  // The lease is given back: the next run goes ahead.
  expect((await reconciler({ holder: "instance-b" }).reconcileOnce()).ran).toBe(true);
});

test("a lease held by a live instance keeps others out until it expires", async () => {
  await database.prisma.jobLease.create({ data: { name: "billing-reconcile", holder: "elsewhere", expiresAt: new Date(Date.now() + 60_000) } });
  expect(await reconciler().reconcileOnce()).toEqual({ ran: false });
  await database.prisma.jobLease.update({ where: { name: "billing-reconcile" }, data: { expiresAt: new Date(Date.now() - 1000) } });
  expect((await reconciler().reconcileOnce()).ran).toBe(true);
});

test("oldest-checked customers first, and never more provider calls in a minute than the budget", async () => {
  const owners = [await subscriber("stripe", 1), await subscriber("stripe", 1), await subscriber("stripe", 1)];
  // Everyone was checked just now, except these, checked long ago (the newest of them first in the table).
  await database.prisma.customer.updateMany({ data: { lastSyncedAt: new Date() } });
  await database.prisma.customer.update({ where: { provider_providerCustomerId: { provider: "stripe", providerCustomerId: owners[2]!.customerId } }, data: { lastSyncedAt: new Date("2020-01-01") } });
  await database.prisma.customer.update({ where: { provider_providerCustomerId: { provider: "stripe", providerCustomerId: owners[0]!.customerId } }, data: { lastSyncedAt: new Date("2021-01-01") } });

  let clock = 0;
  const calls: number[] = [];
  emulator.reset();
  const result = await reconciler({
    callsPerMinute: 2,
    now: () => clock,
    wait: async (ms) => void (clock += ms),
    onCall: () => void calls.push(clock),
  }).reconcileOnce();
  expect(result.ran).toBe(true);
  const order = emulator.requests("stripe").map((request) => request.query.customer);
  expect(order.slice(0, 2)).toEqual([owners[2]!.customerId, owners[0]!.customerId]);
  // Every customer was read, each call at a time on the budget's clock: no 60 s window holds more than 2.
  expect(calls.length).toBe(await database.prisma.customer.count());
  expect(calls.length).toBeGreaterThanOrEqual(3);
  for (let i = 2; i < calls.length; i++) expect(calls[i]! - calls[i - 2]!).toBeGreaterThanOrEqual(60_000);
});

test("the schedule runs the reconciler every interval and stops cleanly", async () => {
  let runs = 0;
  const fake = { reconcileOnce: async () => (runs++, { ran: false as const }), holder: "x" };
  const stop = startReconcilerSchedule(fake, 20);
  await new Promise((resolve) => setTimeout(resolve, 110));
  await stop();
  const after = runs;
  expect(after).toBeGreaterThanOrEqual(2);
  await new Promise((resolve) => setTimeout(resolve, 60));
  expect(runs).toBe(after);
});
