import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { DEMO_PLAN_PROVIDER_IDS } from "~/billing/plans.ts";
import type { BillingProvider, ProviderId, RetrievedSubscription } from "~/billing/providers/provider.ts";
import { ProviderError } from "~/billing/providers/provider.ts";
import { createWebhookService, type WebhookService } from "~/billing/webhooks.server.ts";
import type { Database } from "~/db/database.server.ts";
import { createTestDatabase } from "./database.ts";
import { sign, subscriptionEvent, webhookRequest, type SubscriptionFacts } from "./webhook-events.ts";
import { personalOrganizationId } from "~/orgs/billing-owner.ts";

// Issue 16, the four defects found by replaying real provider events (SPEC "Subscriptions and webhooks"):
// the webhook service with each provider's real signature scheme and payload shape, on a real database,
// with a stand-in for the provider's API where the service must ask it.

const SECRETS = { stripe: "whsec_truthTestSecret", polar: "polar-truth-secret", lemonsqueezy: "lemon-truth-secret" } as const;
const PERIOD_END = new Date("2027-01-05T00:00:00Z");
const MINUTE = 60_000;

let database: Database;
beforeAll(async () => {
  database = await createTestDatabase();
}, 60_000);
afterAll(() => database.close());

/** What the stand-in provider answers for `subscriptions.retrieve`, and how often it was asked. */
const retrieved: { answer: RetrievedSubscription | null | "unreachable"; calls: string[] } = { answer: null, calls: [] };
const stripeApi: BillingProvider = {
  id: "stripe",
  intentsNeedingSubscription: [],
  createPortal: () => Promise.reject(new Error("not used")),
  createCheckout: () => Promise.reject(new Error("not used")),
  async retrieveSubscription(id) {
    retrieved.calls.push(id);
    if (retrieved.answer === "unreachable") throw new ProviderError("stripe", "unavailable", "connection failed");
    return retrieved.answer;
  },
};

function service(): WebhookService {
  return createWebhookService({ prisma: database.prisma, secrets: SECRETS, plans: DEMO_PLAN_PROVIDER_IDS, providers: [stripeApi] });
}

let n = 0;
async function facts(provider: ProviderId, overrides: Partial<SubscriptionFacts> = {}): Promise<SubscriptionFacts> {
  n++;
  const user = await database.prisma.user.create({ data: { email: `truth-${n}-${Date.now()}@example.test` } });
  return {
    userId: user.id,
    customerId: provider === "lemonsqueezy" ? `${9000 + n}` : provider === "stripe" ? `cus_Truth${n}` : `8e4c7a52-0000-4000-8000-${String(n).padStart(12, "0")}`,
    subscriptionId: provider === "lemonsqueezy" ? `${5000 + n}` : `${provider}-truth-${n}`,
    status: "active",
    planId: DEMO_PLAN_PROVIDER_IDS[provider].pro,
    periodEnd: PERIOD_END,
    at: new Date(Date.now() - 10 * MINUTE),
    ...overrides,
  };
}

async function deliver(provider: ProviderId, state: SubscriptionFacts) {
  const response = await service().handle(provider, webhookRequest(`http://app.test/webhooks/${provider}`, sign(provider, subscriptionEvent(provider, state), SECRETS[provider])));
  return { status: response.status, body: (await response.json()) as { outcome?: string } };
}

const stored = (provider: ProviderId, id: string) =>
  database.prisma.subscription.findUnique({ where: { provider_providerSubscriptionId: { provider, providerSubscriptionId: id } } });

describe("the provider's own end is stored (defect 1)", () => {
  test("Stripe: a subscription cancelled immediately ends at `ended_at`, not at the unused period end", async () => {
    const endedAt = new Date(Date.now() - 5 * MINUTE);
    const state = await facts("stripe");
    await deliver("stripe", state);
    const cancelled = { ...state, type: "customer.subscription.deleted", status: "canceled", endedAt, canceledAt: endedAt, at: new Date(Date.now() - 4 * MINUTE) };
    expect((await deliver("stripe", cancelled)).body.outcome).toBe("processed");
    expect(await stored("stripe", state.subscriptionId)).toMatchObject({ status: "canceled", endedAt: new Date(Math.floor(endedAt.getTime() / 1000) * 1000), currentPeriodEnd: PERIOD_END });
  });

  test("Polar: a revoked subscription ends at `ended_at`", async () => {
    const endedAt = new Date(Date.now() - 5 * MINUTE);
    const state = await facts("polar", { type: "subscription.revoked", status: "canceled", endedAt, canceledAt: endedAt });
    await deliver("polar", state);
    expect(await stored("polar", state.subscriptionId)).toMatchObject({ status: "canceled", endedAt });
  });

  test("Lemon Squeezy: an expired subscription ends at `ends_at`", async () => {
    const endedAt = new Date(Date.now() - 5 * MINUTE);
    const state = await facts("lemonsqueezy", { type: "subscription_expired", status: "expired", endedAt });
    await deliver("lemonsqueezy", state);
    expect(await stored("lemonsqueezy", state.subscriptionId)).toMatchObject({ status: "expired", endedAt });
  });

  test("trial end and quantity are stored from each provider's own fields", async () => {
    const trialEnd = new Date("2026-12-20T00:00:00Z");
    for (const [provider, status] of [["stripe", "trialing"], ["polar", "trialing"], ["lemonsqueezy", "on_trial"]] as const) {
      const state = await facts(provider, { status, trialEnd, quantity: 3 });
      await deliver(provider, state);
      expect({ provider, row: await stored(provider, state.subscriptionId) }).toMatchObject({ provider, row: { status: "trialing", trialEnd, quantity: 3, endedAt: null } });
    }
  });
});

describe("a stale event changes nothing at all (defect 2)", () => {
  test.each(["stripe", "polar", "lemonsqueezy"] as const)("%s: an older event for another provider customer does not move the user's link", async (provider) => {
    const newer = await facts(provider, { at: new Date(Date.now() - 2 * MINUTE) });
    expect((await deliver(provider, newer)).body.outcome).toBe("processed");
    // The same subscription, an older state, naming the same user with a customer id the user once had.
    const older = { ...newer, customerId: provider === "lemonsqueezy" ? "1" : `${newer.customerId}-old`, status: "canceled", at: new Date(Date.now() - 8 * MINUTE) };
    if (provider === "lemonsqueezy") older.status = "expired";

    expect((await deliver(provider, older)).body.outcome).toBe("ignored");

    const customers = await database.prisma.customer.findMany({ where: { organizationId: personalOrganizationId(newer.userId!)} });
    expect(customers.map((customer) => customer.providerCustomerId)).toEqual([newer.customerId]);
    expect(await stored(provider, newer.subscriptionId)).toMatchObject({ status: "active", providerCustomerId: newer.customerId });
    expect(await database.prisma.billingActivity.count({ where: { organizationId: personalOrganizationId(newer.userId!)} })).toBe(1);
  });
});

describe("two Stripe events in the same second (defect 4)", () => {
  test("the provider is asked for the subscription's current state, and that is stored", async () => {
    const first = await facts("stripe", { cancelAtPeriodEnd: true });
    await deliver("stripe", first);
    retrieved.calls = [];
    retrieved.answer = {
      organizationId: first.userId && personalOrganizationId(first.userId),
      providerCustomerId: first.customerId,
      subscription: { providerSubscriptionId: first.subscriptionId, providerPlanId: first.planId, status: "active", currentPeriodEnd: PERIOD_END, cancelAtPeriodEnd: false, quantity: 2 },
    };
    // Same `created` second; its payload is the older state (still cancelling), delivered second.
    const sameSecond = { ...first, cancelAtPeriodEnd: true, status: "active" };

    expect((await deliver("stripe", sameSecond)).body.outcome).toBe("processed");

    expect(retrieved.calls).toEqual([first.subscriptionId]);
    expect(await stored("stripe", first.subscriptionId)).toMatchObject({ cancelAtPeriodEnd: false, quantity: 2 });
  });

  test("if the provider cannot be asked, nothing is applied and the provider is told to deliver again", async () => {
    const first = await facts("stripe");
    await deliver("stripe", first);
    retrieved.answer = "unreachable";
    const sameSecond = { ...first, status: "past_due" };
    const ledgerBefore = await database.prisma.webhookEvent.count({ where: { outcome: { not: "failed" } } });

    expect((await deliver("stripe", sameSecond)).status).toBe(503);

    // The ledger keeps it only as failed (billing:events --failed), which a redelivery may claim again.
    expect(await database.prisma.webhookEvent.count({ where: { outcome: { not: "failed" } } })).toBe(ledgerBefore);
    expect(await stored("stripe", first.subscriptionId)).toMatchObject({ status: "active" });
  });

  test("an older event is still just stale: the provider is not asked", async () => {
    const first = await facts("stripe");
    await deliver("stripe", first);
    retrieved.calls = [];
    expect((await deliver("stripe", { ...first, status: "past_due", at: new Date(first.at.getTime() - MINUTE) })).body.outcome).toBe("ignored");
    expect(retrieved.calls).toEqual([]);
  });
});

describe("Lemon Squeezy `cancelled` is live until `ends_at` (defect 4)", () => {
  test("cancelled in its paid period: live and cancelling; expired: ended", async () => {
    const endsAt = new Date(Date.now() + 20 * 24 * 60 * MINUTE);
    const state = await facts("lemonsqueezy", { status: "cancelled", periodEnd: endsAt, cancelAtPeriodEnd: true });
    await deliver("lemonsqueezy", state);
    expect(await stored("lemonsqueezy", state.subscriptionId)).toMatchObject({ status: "active", cancelAtPeriodEnd: true, currentPeriodEnd: endsAt, endedAt: null });

    await deliver("lemonsqueezy", { ...state, type: "subscription_expired", status: "expired", endedAt: endsAt, at: new Date(Date.now() - MINUTE) });
    expect(await stored("lemonsqueezy", state.subscriptionId)).toMatchObject({ status: "expired", endedAt: endsAt, cancelAtPeriodEnd: false });
  });
});

const changes = async (userId: string) =>
  (await database.prisma.billingActivity.findMany({ where: { organizationId: personalOrganizationId(userId), action: "subscription_change" }, orderBy: [{ createdAt: "asc" }, { id: "asc" }] })).map(
    (row) => row.outcome,
  );

describe("billing activity: one line per applied change, in a customer's words (item 8)", () => {
  test.each(["stripe", "polar", "lemonsqueezy"] as const)("%s: started, a scheduled cancel said once with its date, each once", async (provider) => {
    const endsAt = new Date("2027-01-05T00:00:00Z");
    const start = await facts(provider, { periodEnd: endsAt, at: new Date(Date.now() - 9 * MINUTE) });
    await deliver(provider, start);
    // Polar sends `subscription.updated` and `subscription.active` for one state; both are new events.
    await deliver(provider, { ...start, type: provider === "polar" ? "subscription.active" : undefined, at: new Date(Date.now() - 8 * MINUTE) });
    const cancel = { ...start, cancelAtPeriodEnd: true, at: new Date(Date.now() - 7 * MINUTE) };
    // Lemon Squeezy says `cancelled` for a scheduled cancel, in `subscription_cancelled` and then `subscription_updated`.
    if (provider === "lemonsqueezy") Object.assign(cancel, { status: "cancelled", type: "subscription_cancelled" });
    if (provider === "polar") Object.assign(cancel, { type: "subscription.canceled" });
    await deliver(provider, cancel);
    await deliver(provider, { ...cancel, type: provider === "lemonsqueezy" ? "subscription_updated" : undefined, at: new Date(Date.now() - 6 * MINUTE) });

    expect(await changes(start.userId!)).toEqual(["started", "cancel_scheduled:2027-01-05"]);
  });
});
