import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { DEMO_PLAN_PROVIDER_IDS } from "~/billing/plans.ts";
import { PROVIDER_IDS, type ProviderId } from "~/billing/providers/provider.ts";
import { parseConfig } from "~/config/env.server.ts";
import { type Services, startServices } from "~/start-services.server.ts";
import { createTestDatabase } from "./database.ts";
import { otherEvent, sign, subscriptionEvent, webhookRequest, type SubscriptionFacts } from "./webhook-events.ts";
import { personalOrganizationId } from "~/orgs/billing-owner.ts";

// SPEC "Subscriptions and webhooks", for each provider: real signature schemes, a real (embedded or
// server) database, through the same handler the `/webhooks/<provider>` route uses.

const APP = "http://app.test";
const SECRETS = {
  stripe: "whsec_lifecycleTestSecret",
  polar: "polar-lifecycle-test-secret",
  lemonsqueezy: "lemon-lifecycle-secret",
} as const satisfies Record<ProviderId, string>;
const CUSTOMER_IDS = { stripe: "cus_Hook", polar: "8e4c7a52-0000-4000-8000-0000000000c1", lemonsqueezy: "777" } as const;
/** Each provider's own words for "active" and "past due". */
const WORDS = {
  stripe: { active: "active", pastDue: "past_due" },
  polar: { active: "active", pastDue: "past_due" },
  lemonsqueezy: { active: "active", pastDue: "past_due" },
} as const;

let services: Services;
beforeAll(async () => {
  services = await startServices(
    parseConfig({
      APP_ENV: "test",
      APP_URL: APP,
      PAYMENT_EMULATOR: "1",
      STRIPE_WEBHOOK_SECRET: SECRETS.stripe,
      POLAR_WEBHOOK_SECRET: SECRETS.polar,
      LEMONSQUEEZY_WEBHOOK_SECRET: SECRETS.lemonsqueezy,
    }),
    { database: await createTestDatabase() },
  );
}, 60_000);
afterAll(() => services.stop());

const prisma = () => services.database.prisma;

let sequence = 0;
async function newUser(): Promise<string> {
  return (await services.database.prisma.user.create({ data: { email: `hook-${++sequence}@example.test` } })).id;
}

const MINUTE = 60_000;

describe.each(PROVIDER_IDS)("%s webhooks", (provider) => {
  const url = `${APP}/webhooks/${provider}`;
  const deliver = (delivery: ReturnType<typeof sign>) => services.handleWebhook(provider, webhookRequest(url, delivery));
  let n = 0;
  /** A fresh subscription of a fresh user, one minute in the past, on the Pro plan. */
  async function facts(overrides: Partial<SubscriptionFacts> = {}): Promise<SubscriptionFacts> {
    n++;
    return {
      userId: await newUser(),
      customerId: provider === "lemonsqueezy" ? `${7000 + n}` : `${CUSTOMER_IDS[provider]}${n}`,
      subscriptionId: `${provider}-sub-${n}`,
      status: WORDS[provider].active,
      planId: DEMO_PLAN_PROVIDER_IDS[provider].pro,
      periodEnd: new Date("2027-01-15T00:00:00Z"),
      at: new Date(Date.now() - MINUTE),
      ...overrides,
    };
  }
  const ledgerCount = () => prisma().webhookEvent.count({ where: { provider } });
  const subscriptionOf = (subscriptionId: string) =>
    prisma().subscription.findUnique({ where: { provider_providerSubscriptionId: { provider, providerSubscriptionId: subscriptionId } } });

  test("a signed subscription event links the customer to the user checkout named, and stores the subscription", async () => {
    const state = await facts({ cancelAtPeriodEnd: true });
    const response = await deliver(sign(provider, subscriptionEvent(provider, state), SECRETS[provider]));

    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({ received: true, outcome: "processed" });
    const customer = await prisma().customer.findUnique({ where: { organizationId_provider: { organizationId: personalOrganizationId(state.userId!), provider } } });
    expect(customer?.providerCustomerId).toBe(state.customerId);
    expect(await subscriptionOf(state.subscriptionId)).toMatchObject({
      organizationId: personalOrganizationId(state.userId!),
      plan: "pro",
      status: "active",
      currentPeriodEnd: state.periodEnd,
      cancelAtPeriodEnd: true,
    });
  });

  test.each([
    ["a tampered body", (d: ReturnType<typeof sign>) => ({ ...d, body: d.body.replace('"active"', '"trialing"') })],
    ["a wrong secret", () => null],
    ["no signature", (d: ReturnType<typeof sign>) => ({ ...d, headers: { "Content-Type": "application/json" } })],
  ])("%s is refused with 400 Invalid signature and nothing is stored", async (_name, alter) => {
    const state = await facts();
    const event = subscriptionEvent(provider, state);
    const signed = sign(provider, event, SECRETS[provider]);
    const delivery = alter(signed) ?? sign(provider, event, `${SECRETS[provider]}-wrong`);
    expect(delivery.body === signed.body && delivery.headers === signed.headers).toBe(false);
    const before = await ledgerCount();

    const response = await deliver(delivery);

    expect(response.status).toBe(400);
    expect(await response.json()).toEqual({ error: "Invalid signature" });
    expect(await ledgerCount()).toBe(before);
    expect(await subscriptionOf(state.subscriptionId)).toBeNull();
    expect(await prisma().customer.count({ where: { organizationId: personalOrganizationId(state.userId!)} })).toBe(0);
  });

  test.skipIf(provider === "lemonsqueezy")("a signature older than 5 minutes is refused", async () => {
    const state = await facts();
    const response = await deliver(sign(provider, subscriptionEvent(provider, state), SECRETS[provider], { at: new Date(Date.now() - 6 * MINUTE) }));
    expect(response.status).toBe(400);
    expect(await subscriptionOf(state.subscriptionId)).toBeNull();
  });

  test("a redelivered event has no second effect", async () => {
    const state = await facts();
    const delivery = sign(provider, subscriptionEvent(provider, state), SECRETS[provider]);
    expect((await (await deliver(delivery)).json()).outcome).toBe("processed");
    const before = await ledgerCount();
    // Someone changed the subscription since: a replay of the old event must not undo that.
    await prisma().subscription.update({
      where: { provider_providerSubscriptionId: { provider, providerSubscriptionId: state.subscriptionId } },
      data: { status: "canceled" },
    });

    const again = await deliver(delivery);

    expect(again.status).toBe(200);
    expect(await again.json()).toEqual({ received: true, outcome: "duplicate" });
    expect(await ledgerCount()).toBe(before);
    expect((await subscriptionOf(state.subscriptionId))?.status).toBe("canceled");
  });

  test("the same event delivered ten times at once has one effect", async () => {
    const state = await facts();
    const delivery = sign(provider, subscriptionEvent(provider, state), SECRETS[provider]);
    const before = await ledgerCount();

    const responses = await Promise.all(Array.from({ length: 10 }, () => deliver(delivery)));

    expect(responses.map((response) => response.status)).toEqual(Array(10).fill(200));
    const outcomes = await Promise.all(responses.map(async (response) => (await response.json()).outcome));
    expect(outcomes.toSorted()).toEqual(["duplicate", ...Array(8).fill("duplicate"), "processed"].toSorted());
    expect(await ledgerCount()).toBe(before + 1);
    expect(await prisma().subscription.count({ where: { organizationId: personalOrganizationId(state.userId!)} })).toBe(1);
    expect(await prisma().customer.count({ where: { organizationId: personalOrganizationId(state.userId!)} })).toBe(1);
  });

  test("an older event never overwrites newer state", async () => {
    const older = await facts({ at: new Date(Date.now() - 3 * MINUTE) });
    const newer = { ...older, status: WORDS[provider].pastDue, at: new Date(Date.now() - MINUTE) };

    expect((await deliver(sign(provider, subscriptionEvent(provider, newer), SECRETS[provider]))).status).toBe(200);
    const late = await deliver(sign(provider, subscriptionEvent(provider, older), SECRETS[provider]));

    expect(late.status).toBe(200);
    expect((await subscriptionOf(older.subscriptionId))?.status).toBe("past_due");
  });

  test("a newer event updates the stored state", async () => {
    const first = await facts({ at: new Date(Date.now() - 3 * MINUTE) });
    const later = { ...first, status: WORDS[provider].pastDue, planId: DEMO_PLAN_PROVIDER_IDS[provider].starter, at: new Date(Date.now() - MINUTE) };
    await deliver(sign(provider, subscriptionEvent(provider, first), SECRETS[provider]));
    await deliver(sign(provider, subscriptionEvent(provider, later), SECRETS[provider]));
    expect(await subscriptionOf(first.subscriptionId)).toMatchObject({ status: "past_due", plan: "starter" });
  });

  test("an event for an unknown user is answered 200 and recorded as unlinked", async () => {
    for (const userId of [null, "no-such-user"]) {
      const state = { ...(await facts()), userId };
      const response = await deliver(sign(provider, subscriptionEvent(provider, state), SECRETS[provider]));
      expect(response.status).toBe(200);
      expect(await response.json()).toEqual({ received: true, outcome: "unlinked" });
      expect(await subscriptionOf(state.subscriptionId)).toBeNull();
    }
    expect(await prisma().webhookEvent.count({ where: { provider, outcome: "unlinked" } })).toBeGreaterThanOrEqual(2);
  });

  test("a later event for a linked customer is applied even without the user id", async () => {
    const state = await facts({ at: new Date(Date.now() - 3 * MINUTE) });
    await deliver(sign(provider, subscriptionEvent(provider, state), SECRETS[provider]));
    const later = { ...state, userId: null, status: WORDS[provider].pastDue, at: new Date(Date.now() - MINUTE) };
    const response = await deliver(sign(provider, subscriptionEvent(provider, later), SECRETS[provider]));
    expect(await response.json()).toEqual({ received: true, outcome: "processed" });
    expect((await subscriptionOf(state.subscriptionId))?.status).toBe("past_due");
  });

  test("an event of a type the app does not act on is answered 200 and recorded", async () => {
    const type = { stripe: "invoice.paid", polar: "benefit.teleported", lemonsqueezy: "license_key_created" }[provider];
    const before = await prisma().webhookEvent.count({ where: { provider, type, outcome: "ignored" } });
    const response = await deliver(sign(provider, otherEvent(provider, type), SECRETS[provider]));
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({ received: true, outcome: "ignored" });
    expect(await prisma().webhookEvent.count({ where: { provider, type, outcome: "ignored" } })).toBe(before + 1);
  });

  test("a body over 1 MiB gets 413, and other methods 405", async () => {
    const big = { body: "x".repeat(1024 * 1024 + 1), headers: { "Content-Type": "application/json" } };
    expect((await deliver(big)).status).toBe(413);
    const get = await services.handleWebhook(provider, new Request(url));
    expect(get.status).toBe(405);
    expect(get.headers.get("Allow")).toBe("POST");
  });
});

describe("webhook endpoints", () => {
  test("a provider without a secret has no endpoint", async () => {
    // Not emulated: an emulator hands out a secret for every provider, and this is about one without.
    const other = await startServices(parseConfig({ APP_ENV: "test", APP_URL: APP, STRIPE_SECRET_KEY: "sk_test_no_emulator", STRIPE_WEBHOOK_SECRET: SECRETS.stripe }), {
      database: await createTestDatabase(),
    });
    try {
      const state = { userId: null, customerId: "1", subscriptionId: "1", status: "active", planId: "1", periodEnd: new Date(), at: new Date() };
      const polar = sign("polar", subscriptionEvent("polar", state), SECRETS.polar);
      expect((await other.handleWebhook("polar", webhookRequest(`${APP}/webhooks/polar`, polar))).status).toBe(404);
      expect((await other.handleWebhook("paypal", webhookRequest(`${APP}/webhooks/paypal`, polar))).status).toBe(404);
    } finally {
      await other.stop();
    }
  }, 60_000);

  test("with the database down, an event is answered 503 so the provider delivers it again", async () => {
    // Not emulated: an emulator hands out a secret for every provider, and this is about one without.
    const other = await startServices(parseConfig({ APP_ENV: "test", APP_URL: APP, STRIPE_SECRET_KEY: "sk_test_no_emulator", STRIPE_WEBHOOK_SECRET: SECRETS.stripe }), {
      database: await createTestDatabase(),
    });
    await other.database.close();
    try {
      const state = { userId: "someone", customerId: "cus_1", subscriptionId: "sub_1", status: "active", planId: "price_1", periodEnd: new Date(), at: new Date() };
      const response = await other.handleWebhook("stripe", webhookRequest(`${APP}/webhooks/stripe`, sign("stripe", subscriptionEvent("stripe", state), SECRETS.stripe)));
      expect(response.status).toBe(503);
      expect(response.headers.get("Retry-After")).toBeTruthy();
    } finally {
      await other.emulator?.close();
    }
  }, 60_000);
});
