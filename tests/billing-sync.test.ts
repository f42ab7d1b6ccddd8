import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { DEMO_PLAN_PROVIDER_IDS } from "~/billing/plans.ts";
import { PROVIDER_IDS, type ProviderId } from "~/billing/providers/provider.ts";
import { createBillingProvider } from "~/billing/providers/registry.server.ts";
import { createBillingSync } from "~/billing/sync/sync.server.ts";
import { configuredPlans } from "~/billing/sync/sync-providers.server.ts";
import { parseConfig } from "~/config/env.server.ts";
import type { Database } from "~/db/database.server.ts";
import { routeLemonSqueezyApiTo } from "../emulator/lemonsqueezy-routing.ts";
import { startProviderEmulator, type ProviderEmulator } from "../emulator/provider-emulator.ts";
import { createTestDatabase } from "./database.ts";
import { subscriberFactory } from "./support/billing-sync-fixtures.ts";
import { personalOrganizationId } from "~/orgs/billing-owner.ts";

// SPEC "Keeping billing state true": billing:sync's domain module against the emulator's list calls (the real
// SDKs, their pagination, an injected 429) and a real database (embedded, or TEST_DATABASE_URL).

let emulator: ProviderEmulator;
let database: Database;
let undoRouting: () => void;
const config = parseConfig({ APP_ENV: "test", PAYMENT_EMULATOR: "1" });
const plans = configuredPlans(config);

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

const waits: number[] = [];
function sync(only?: ProviderId) {
  const ids = only ? [only] : PROVIDER_IDS;
  const providers = Object.fromEntries(
    ids.map((id) => [id, createBillingProvider({ ...config.billing, emulatorOrigin: emulator.origin, resilience: { retries: 0 } }, id)]),
  );
  return createBillingSync({ prisma: database.prisma, providers, plans, wait: async (ms) => void waits.push(ms) });
}

const subscriber = subscriberFactory(() => emulator, () => database, "sync");

const rows = (userId: string) => database.prisma.subscription.findMany({ where: { organizationId: personalOrganizationId(userId) }, orderBy: { providerSubscriptionId: "asc" } });

describe.each(PROVIDER_IDS)("%s", (provider) => {
  test("a silent cancel is found, reported once per field, and applied; a second run finds nothing", async () => {
    const owner = await subscriber(provider, 1);
    const first = await sync(provider).run({ email: owner.email });
    expect(first.errors).toEqual([]);
    // Made in the provider's dashboard: unknown to us until now, linked to the known customer.
    expect(first.differences).toEqual([
      { owner: owner.email, provider, subscription: owner.ids[0], field: "subscription", before: null, after: "active" },
    ]);
    expect((await rows(owner.userId)).map((row) => [row.status, row.plan, row.cancelAtPeriodEnd])).toEqual([["active", "pro", false]]);

    await emulator.lifecycle.act(provider, owner.ids[0]!, { action: "cancel" }, { silent: true });
    expect(emulator.lifecycle.delivery.list({ provider, subscriptionId: owner.ids[0] })).toEqual([]);

    const dry = await sync(provider).run({ email: owner.email }, { dryRun: true });
    // Lemon Squeezy's `cancelled` is still a paying subscription until `ends_at` (SPEC): for every provider the one
    // difference is the scheduled cancel.
    expect(dry.differences).toEqual([
      { owner: owner.email, provider, subscription: owner.ids[0], field: "cancelAtPeriodEnd", before: "false", after: "true" },
    ]);
    expect((await rows(owner.userId))[0]?.cancelAtPeriodEnd).toBe(false);

    const real = await sync(provider).run({ email: owner.email });
    expect(real.differences).toEqual(dry.differences);
    expect((await rows(owner.userId))[0]?.cancelAtPeriodEnd).toBe(true);
    expect((await sync(provider).run({ email: owner.email })).differences).toEqual([]);
    const customer = await database.prisma.customer.findFirstOrThrow({ where: { organizationId: personalOrganizationId(owner.userId)} });
    expect(customer.lastSyncedAt).not.toBeNull();
  });

  test("a customer with 150 subscriptions is read over two pages", async () => {
    const owner = await subscriber(provider, 150);
    emulator.reset();
    const report = await sync(provider).run({ email: owner.email });
    expect(report.errors).toEqual([]);
    expect(report.differences).toHaveLength(150);
    expect(await rows(owner.userId)).toHaveLength(150);
    const listCalls = emulator.requests(provider).filter((request) => request.method === "GET" && request.path.startsWith("/v1/subscriptions"));
    expect(listCalls).toHaveLength(2);
  });

  test("a 429 is waited out for its Retry-After; a provider that keeps failing leaves the customer as it was", async () => {
    const owner = await subscriber(provider, 1);
    waits.length = 0;
    emulator.failNext(provider, { retryAfterSeconds: 7 });
    const report = await sync(provider).run({ email: owner.email });
    expect(waits).toEqual([7000]);
    expect(report.errors).toEqual([]);
    expect(await rows(owner.userId)).toHaveLength(1);

    const other = await subscriber(provider, 1);
    emulator.failNext(provider, { status: 500, times: 2 });
    const failed = await sync(provider).run({ email: other.email });
    expect(failed).toEqual({ differences: [], customers: 1, errors: [{ owner: other.email, provider, reason: "unavailable" }] });
    expect(await rows(other.userId)).toEqual([]);
  });
});

test("a webhook newer than the provider's answer stands: sync never moves a subscription back", async () => {
  const owner = await subscriber("stripe", 1);
  const sub = owner.ids[0]!;
  await sync("stripe").run({ email: owner.email });
  // Our copy says a newer state (a minute ahead) already arrived.
  await database.prisma.subscription.update({
    where: { provider_providerSubscriptionId: { provider: "stripe", providerSubscriptionId: sub } },
    data: { status: "past_due", providerUpdatedAt: new Date(Date.now() + 60_000) },
  });
  const report = await sync("stripe").run({ email: owner.email });
  expect(report.differences).toEqual([]);
  expect((await rows(owner.userId))[0]?.status).toBe("past_due");
});

test("only the named provider is read with --provider, and --all reads every customer", async () => {
  const stripeOwner = await subscriber("stripe", 1);
  const polarOwner = await subscriber("polar", 1);
  const report = await sync().run({ all: true }, { provider: "polar", dryRun: true });
  expect(report.differences.some((difference) => difference.owner === polarOwner.email)).toBe(true);
  expect(report.differences.some((difference) => difference.owner === stripeOwner.email)).toBe(false);
  expect(await rows(polarOwner.userId)).toEqual([]);
  expect(DEMO_PLAN_PROVIDER_IDS.polar.pro).toBeTruthy();
});
