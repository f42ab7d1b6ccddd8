import { afterAll, beforeAll, expect, test } from "vitest";
import { PROVIDER_IDS, type BillingProvider } from "~/billing/providers/provider.ts";
import { createBillingProvider } from "~/billing/providers/registry.server.ts";
import { createReconciler, RECONCILE_JOB_KIND } from "~/billing/sync/reconciler.server.ts";
import { configuredPlans } from "~/billing/sync/sync-providers.server.ts";
import { parseConfig } from "~/config/env.server.ts";
import type { Database } from "~/db/database.server.ts";
import { createJobRunner, type JobRunner } from "~/jobs/jobs.server.ts";
import { routeLemonSqueezyApiTo } from "../emulator/lemonsqueezy-routing.ts";
import { startProviderEmulator, type ProviderEmulator } from "../emulator/provider-emulator.ts";
import { createTestDatabase } from "./database.ts";
import { clearJobs } from "./jobs.ts";
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
  options: { callsPerMinute?: number; now?: () => number; wait?: (ms: number) => Promise<void>; onCall?: () => void | Promise<void> } = {},
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
    now: options.now,
    wait: options.wait,
  });
}

/** One app instance's job runner with the reconciler on its schedule, as startServices sets it up. */
function instance(reconcile: () => Promise<unknown>): JobRunner {
  return createJobRunner({
    prisma: database.prisma,
    handlers: { [RECONCILE_JOB_KIND]: async () => void (await reconcile()) },
    schedules: [{ kind: RECONCILE_JOB_KIND, period: { minutes: 60 }, leaseSeconds: 3600 }],
  });
}

test("two instances on one database: the interval's run goes to one; a silent cancel is repaired and logged", async () => {
  await clearJobs(database, RECONCILE_JOB_KIND);
  const owner = await subscriber("stripe", 1);
  await reconciler().reconcileOnce();
  await emulator.lifecycle.act("stripe", owner.ids[0]!, { action: "cancel" }, { silent: true });

  const log = captureLog();
  const runs: string[] = [];
  const a = instance(() => {
    runs.push("a");
    return reconciler({
      onCall: async () => {
        aIsRunning();
        await aMayGo;
      },
    }).reconcileOnce();
  });
  const b = instance(() => {
    runs.push("b");
    return reconciler().reconcileOnce();
  });
  let letAGo!: () => void;
  const aMayGo = new Promise<void>((resolve) => (letAGo = resolve));
  let aIsRunning!: () => void;
  const aRunning = new Promise<void>((resolve) => (aIsRunning = resolve));
  try {
    // Instance A is held inside its run (at its first provider call) while instance B looks for work: the two
    // overlap whatever the machine's speed, as two instances' polls would.
    const aDone = a.runOnce();
    await aRunning;
    expect(await b.runOnce()).toBe(0);
    letAGo();
    expect(await aDone).toBe(1);
    // The interval's run is done: neither instance runs it again before the next interval.
    expect(await b.runOnce()).toBe(0);
    expect(await a.runOnce()).toBe(0);
  } finally {
    log.restore();
    await a.stop();
    await b.stop();
  }
  expect(runs).toEqual(["a"]);
  const row = await database.prisma.subscription.findFirstOrThrow({ where: { organizationId: personalOrganizationId(owner.userId) } });
  expect(row.cancelAtPeriodEnd).toBe(true);
  const drift = log.lines.map((line) => JSON.parse(line) as Record<string, unknown>).filter((entry) => entry.event === "billing.reconcile.drift");
  expect(drift).toEqual([
    expect.objectContaining({ provider: "stripe", organizationId: personalOrganizationId(owner.userId), subscription: owner.ids[0], field: "cancelAtPeriodEnd", before: "false", after: "true" }),
  ]);
  expect(log.text()).not.toContain(owner.email);
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
  expect(result.stoppedEarly).toBe(false);
  const order = emulator.requests("stripe").map((request) => request.query.customer);
  expect(order.slice(0, 2)).toEqual([owners[2]!.customerId, owners[0]!.customerId]);
  // Every customer was read, each call at a time on the budget's clock: no 60 s window holds more than 2.
  expect(calls.length).toBe(await database.prisma.customer.count());
  expect(calls.length).toBeGreaterThanOrEqual(3);
  for (let i = 2; i < calls.length; i++) expect(calls[i]! - calls[i - 2]!).toBeGreaterThanOrEqual(60_000);
});
