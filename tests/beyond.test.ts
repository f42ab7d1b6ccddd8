import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, test } from "vitest";
import { parseConfig } from "~/config/env.server.ts";
import type { Database } from "~/db/database.server.ts";
import { DEMO_ACCOUNTS, DEMO_PASSWORD } from "~/demo/demo-accounts.ts";
import { type Services, startServices } from "~/start-services.server.ts";
import { findCustomer } from "../emulator/customers.ts";
import { EMULATOR_ONLY_CUSTOMER_IDS } from "../emulator/provider-emulator.ts";
import { createTestDatabase, keptOpen } from "./database.ts";
import { sign, subscriptionEvent, webhookRequest } from "./webhook-events.ts";
import { personalOrganizationId } from "~/orgs/billing-owner.ts";

// Issue 10 ("Beyond the portal"), app side: deep links, the user's language, legacy providers and the
// billing activity record, through the handlers the routes use, against the real SDKs and the emulator.

const APP = "http://app.test";
const API = `${APP}/api/payments/portal`;
const STRIPE_USER = DEMO_ACCOUNTS[0];
const PAST_DUE_USER = DEMO_ACCOUNTS[3];
const LEMON_USER = DEMO_ACCOUNTS[2];

async function start(env: Record<string, string>, database?: Database): Promise<Services> {
  return startServices(
    parseConfig({ APP_ENV: "test", APP_URL: APP, PAYMENT_EMULATOR: "1", RATE_LIMIT_PROVIDER_CALLS_PER_MINUTE: "0", ...env }),
    { database: database ?? (await createTestDatabase()) },
  );
}

async function signIn(services: Services, email: string, password = DEMO_PASSWORD): Promise<string> {
  const result = await services.auth.login(
    new Request(`${APP}/login`, {
      method: "POST",
      headers: { "Content-Type": "application/x-www-form-urlencoded" },
      body: new URLSearchParams({ email, password }),
    }),
  );
  if (!result.ok) throw new Error(`could not sign in ${email}`);
  return result.headers.get("Set-Cookie")!.split(";")[0]!;
}

function portalJson(services: Services, cookie: string, body: unknown, headers: Record<string, string> = {}) {
  return services.handlePortalRequest(
    new Request(API, { method: "POST", headers: { "Content-Type": "application/json", Cookie: cookie, ...headers }, body: JSON.stringify(body) }),
    "json",
  );
}

/** The form fields the app sent on its last call to this provider's API, as the emulator logged them. */
function lastCall(services: Services, provider: "stripe" | "polar" | "lemonsqueezy") {
  const call = services.emulator!.requests(provider).at(-1)!;
  return { path: call.path, body: (call.body ?? {}) as Record<string, string> };
}

describe("Stripe deep links and language", () => {
  let services: Services;
  beforeAll(async () => {
    services = await start({ PAYMENT_PROVIDER: "stripe" });
  });
  afterAll(() => services.stop());
  afterEach(() => services.emulator!.reset());

  test("each user's cancel link names that user's own subscription, whatever the request says", async () => {
    const stripeCookie = await signIn(services, STRIPE_USER.email);
    const pastDueCookie = await signIn(services, PAST_DUE_USER.email);
    const other = PAST_DUE_USER.subscription.providerSubscriptionId;
    const own = STRIPE_USER.subscription.providerSubscriptionId;

    // A request naming another user's subscription (in every spelling a client might try) changes nothing.
    const response = await portalJson(services, stripeCookie, { intent: "cancel", subscription: other, subscriptionId: other });
    expect(response.status).toBe(200);
    expect(lastCall(services, "stripe").body["flow_data[subscription_cancel][subscription]"]).toBe(own);

    await portalJson(services, pastDueCookie, { intent: "change_plan", subscriptionId: own });
    expect(lastCall(services, "stripe").body["flow_data[subscription_update][subscription]"]).toBe(other);
  });

  test("the payment-method update returns to the app when done", async () => {
    const cookie = await signIn(services, PAST_DUE_USER.email);
    const response = await portalJson(services, cookie, { intent: "payment_method", returnUrl: "/pricing" });
    expect(response.status).toBe(200);
    const { body } = lastCall(services, "stripe");
    expect(body["flow_data[type]"]).toBe("payment_method_update");
    expect(body["flow_data[after_completion][redirect][return_url]"]).toBe(`${APP}/pricing`);
    expect(((await response.json()) as { url: string }).url).toMatch(/\/flow$/);
  });

  test("a French browser gets Stripe's portal and checkout in French; no language means auto", async () => {
    const cookie = await signIn(services, STRIPE_USER.email);
    await portalJson(services, cookie, {}, { "Accept-Language": "fr-FR,fr;q=0.9,en;q=0.5" });
    expect(lastCall(services, "stripe").body.locale).toBe("fr");

    const nobody = await signIn(services, "nobody@demo.test");
    await services.handleCheckoutRequest(
      new Request(`${APP}/api/payments/checkout`, {
        method: "POST",
        headers: { "Content-Type": "application/json", Cookie: nobody, "Accept-Language": "fr-CA" },
        body: JSON.stringify({ plan: "pro" }),
      }),
      "json",
    );
    // The checkout's creation (after it, the user's other open checkouts are listed and expired).
    const created = services.emulator!.requests("stripe").findLast((call) => call.method === "POST" && call.path === "/v1/checkout/sessions");
    expect((created?.body ?? {}) as Record<string, string>).toMatchObject({ locale: "fr-CA" });

    await portalJson(services, cookie, {});
    expect(lastCall(services, "stripe").body.locale).toBe("auto");
  });

  test("an intent that needs a subscription, for a customer without one, is 400 No subscription", async () => {
    const cookie = await signIn(services, STRIPE_USER.email);
    const user = await services.database.prisma.user.findUniqueOrThrow({ where: { email: STRIPE_USER.email } });
    await services.database.prisma.subscription.updateMany({ where: { organizationId: personalOrganizationId(user.id)}, data: { status: "canceled" } });
    try {
      const response = await portalJson(services, cookie, { intent: "cancel" });
      expect(response.status).toBe(400);
      expect(await response.json()).toEqual({ error: "No subscription", code: "no_subscription" });
      expect(services.emulator!.requests("stripe")).toHaveLength(0);
      // The payment method is the customer's, not a subscription's: Stripe still opens it.
      expect((await portalJson(services, cookie, { intent: "payment_method" })).status).toBe(200);
    } finally {
      await services.database.prisma.subscription.updateMany({ where: { organizationId: personalOrganizationId(user.id)}, data: { status: "active" } });
    }
  });

  test("an unknown intent is an invalid body; no customer at all stays 404", async () => {
    const cookie = await signIn(services, STRIPE_USER.email);
    const unknown = await portalJson(services, cookie, { intent: "refund" });
    expect(unknown.status).toBe(400);
    expect(await unknown.json()).toMatchObject({ error: "Invalid request body" });

    const nobody = await signIn(services, "nobody@demo.test");
    const response = await portalJson(services, nobody, { intent: "cancel" });
    expect(response.status).toBe(404);
    expect(await response.json()).toMatchObject({ error: "No customer found" });
  });
});

describe("Lemon Squeezy deep links", () => {
  let services: Services;
  let secondCookie = "";
  const SECOND_SUBSCRIPTION = "535353";

  let database: Database;
  beforeAll(async () => {
    database = await createTestDatabase();
  });
  afterAll(() => database.close());

  // Services of their own for each test, on the suite's database: the adapter keeps the deep links it fetched for as
  // long as it runs (a test counts the calls a cold one makes), and the emulator logs every call.
  beforeEach(async () => {
    services = await start({ PAYMENT_PROVIDER: "lemonsqueezy" }, keptOpen(database));
    // A second subscriber, at the emulator and (once: the database outlives the services) in our database, as a
    // checkout would have made them.
    const lifecycle = services.emulator!.lifecycle;
    const template = lifecycle.subscriptions.get("lemonsqueezy", LEMON_USER.subscription.providerSubscriptionId)!;
    const customer = findCustomer("lemonsqueezy", EMULATOR_ONLY_CUSTOMER_IDS.lemonSqueezySecondSubscriber)!;
    lifecycle.subscriptions.add({ ...structuredClone(template), id: SECOND_SUBSCRIPTION, customer });
    if (!secondCookie) secondCookie = await signUpSecondSubscriber(customer.id);
  });
  afterEach(() => services.stop());

  async function signUpSecondSubscriber(customerId: string): Promise<string> {
    const signup = await services.auth.signup(
      new Request(`${APP}/signup`, {
        method: "POST",
        headers: { "Content-Type": "application/x-www-form-urlencoded" },
        body: new URLSearchParams({ email: "second-lemon@example.test", password: "another-long-password" }),
      }),
    );
    if (!signup.ok) throw new Error("could not sign up");
    const { prisma } = services.database;
    await prisma.customer.create({ data: { organizationId: personalOrganizationId(signup.user.id), provider: "lemonsqueezy", providerCustomerId: customerId } });
    await prisma.subscription.create({
      data: {
        organizationId: personalOrganizationId(signup.user.id),
        provider: "lemonsqueezy",
        providerSubscriptionId: SECOND_SUBSCRIPTION,
        providerCustomerId: customerId,
        plan: "pro",
        status: "active",
        providerUpdatedAt: new Date(),
      },
    });
    return signup.headers.get("Set-Cookie")!.split(";")[0]!;
  }

  test("each user gets the update-payment link of their own subscription, even right after another user's", async () => {
    const lenaCookie = await signIn(services, LEMON_USER.email);
    const lena = (await (await portalJson(services, lenaCookie, { intent: "payment_method" })).json()) as { url: string };
    const second = (await (await portalJson(services, secondCookie, { intent: "payment_method" })).json()) as { url: string };

    expect(new URL(lena.url).pathname).toBe(`/portal/lemonsqueezy/subscription/${LEMON_USER.subscription.providerSubscriptionId}/payment-details`);
    expect(new URL(second.url).pathname).toBe(`/portal/lemonsqueezy/subscription/${SECOND_SUBSCRIPTION}/payment-details`);
    // The repeat is served from the cache, and still the user's own.
    const again = (await (await portalJson(services, secondCookie, { intent: "payment_method" })).json()) as { url: string };
    expect(again.url).toBe(second.url);
    const calls = services.emulator!.requests("lemonsqueezy").map((call) => call.path);
    expect(calls).toEqual([`/v1/subscriptions/${LEMON_USER.subscription.providerSubscriptionId}`, `/v1/subscriptions/${SECOND_SUBSCRIPTION}`]);
  });

  test("change plan opens the subscription's update page; cancel opens the customer portal and says so", async () => {
    const cookie = await signIn(services, LEMON_USER.email);
    const change = (await (await portalJson(services, cookie, { intent: "change_plan" })).json()) as { url: string };
    expect(new URL(change.url).pathname).toBe(`/portal/lemonsqueezy/billing/${LEMON_USER.subscription.providerSubscriptionId}/update`);
    const cancel = await portalJson(services, cookie, { intent: "cancel" });
    expect(await cancel.json()).toMatchObject({ code: "deep_link_unsupported" });
  });
});

describe("Polar", { timeout: 30_000 }, () => {
  test("opens its portal home for a deep link, and says so in code", async () => {
    const services = await start({ PAYMENT_PROVIDER: "polar" });
    try {
      const cookie = await signIn(services, "polar@demo.test");
      const response = await portalJson(services, cookie, { intent: "payment_method" });
      expect(response.status).toBe(200);
      const body = (await response.json()) as { url: string; code?: string };
      expect(body.code).toBe("deep_link_unsupported");
      expect(new URL(body.url).origin).toBe(services.emulator!.origin);
      // A plain portal open is exactly what was asked: no code.
      expect(await (await portalJson(services, cookie, {})).json()).not.toHaveProperty("code");
    } finally {
      await services.stop();
    }
  });
});

describe("portals for a previous provider (BILLING_LEGACY_PROVIDERS)", { timeout: 30_000 }, () => {
  test("without it, a Stripe customer under Polar gets the seed's exact mismatch 400", async () => {
    const services = await start({ PAYMENT_PROVIDER: "polar" });
    try {
      const response = await portalJson(services, await signIn(services, STRIPE_USER.email), {});
      expect(response.status).toBe(400);
      expect(await response.json()).toMatchObject({ error: "Customer provider (stripe) does not match active provider (polar)" });
    } finally {
      await services.stop();
    }
  });

  test("with stripe listed, a Stripe customer under Polar opens the Stripe portal, deep links included; checkouts go to Polar", async () => {
    const services = await start({ PAYMENT_PROVIDER: "polar", BILLING_LEGACY_PROVIDERS: "stripe" });
    try {
      const cookie = await signIn(services, STRIPE_USER.email);
      const response = await portalJson(services, cookie, { intent: "cancel" });
      expect(response.status).toBe(200);
      expect(((await response.json()) as { url: string }).url).toContain("/portal/stripe/");
      expect(lastCall(services, "stripe").body).toMatchObject({
        customer: STRIPE_USER.customer.providerCustomerId,
        "flow_data[subscription_cancel][subscription]": STRIPE_USER.subscription.providerSubscriptionId,
      });

      const nobody = await signIn(services, "nobody@demo.test");
      await services.handleCheckoutRequest(
        new Request(`${APP}/api/payments/checkout`, {
          method: "POST",
          headers: { "Content-Type": "application/json", Cookie: nobody },
          body: JSON.stringify({ plan: "pro" }),
        }),
        "json",
      );
      expect(lastCall(services, "polar").path).toBe("/v1/checkouts/");
    } finally {
      await services.stop();
    }
  });

  test("a listed provider's key is required at start when payments are not emulated", async () => {
    expect(() =>
      parseConfig({ APP_ENV: "production", APP_URL: APP, SESSION_SECRET: "x".repeat(32), PAYMENT_PROVIDER: "polar", POLAR_ACCESS_TOKEN: "polar_oat_x", POLAR_WEBHOOK_SECRET: "s", POLAR_PRODUCT_STARTER: "5f0c2a1e-8d3b-4c7a-9e21-6b4d8f0a2c11", POLAR_PRODUCT_PRO: "5f0c2a1e-8d3b-4c7a-9e21-6b4d8f0a2c12", BILLING_LEGACY_PROVIDERS: "stripe" }),
    ).toThrow(/STRIPE_SECRET_KEY is required/);
    expect(() => parseConfig({ BILLING_LEGACY_PROVIDERS: "paypal" })).toThrow(/BILLING_LEGACY_PROVIDERS/);
    // Outside production without a key: the start stops at building the adapter.
    const config = parseConfig({ APP_ENV: "test", APP_URL: APP, PAYMENT_PROVIDER: "polar", POLAR_ACCESS_TOKEN: "polar_oat_x", BILLING_LEGACY_PROVIDERS: "stripe" });
    await expect(startServices(config, { database: await createTestDatabase() })).rejects.toThrow(
      "STRIPE_SECRET_KEY is required for BILLING_LEGACY_PROVIDERS=stripe when payments are not emulated",
    );
  });
});

describe("billing activity", () => {
  let services: Services;
  beforeAll(async () => {
    services = await start({ PAYMENT_PROVIDER: "lemonsqueezy", STRIPE_WEBHOOK_SECRET: "whsec_activityTestSecret" });
  });
  afterAll(() => services.stop());

  async function entriesFor(email: string) {
    // Written behind (ADR 017): what this instance queued goes in first.
    await services.activity.flush();
    const user = await services.database.prisma.user.findUniqueOrThrow({ where: { email } });
    return services.database.prisma.billingActivity.findMany({ where: { organizationId: personalOrganizationId(user.id)}, orderBy: { createdAt: "asc" } });
  }

  test("records portal opens and checkout starts with outcome and latency, and never a URL or token", async () => {
    const cookie = await signIn(services, LEMON_USER.email);
    const opened = (await (await portalJson(services, cookie, { intent: "payment_method" })).json()) as { url: string };
    const signature = new URL(opened.url).searchParams.get("signature")!;
    await portalJson(services, cookie, { intent: "refund" });
    await services.handleCheckoutRequest(
      new Request(`${APP}/api/payments/checkout`, { method: "POST", headers: { "Content-Type": "application/json", Cookie: cookie }, body: JSON.stringify({ plan: "pro" }) }),
      "json",
    );

    const entries = await entriesFor(LEMON_USER.email);
    expect(entries.map(({ action, intent, outcome }) => ({ action, intent, outcome }))).toEqual([
      { action: "portal_open", intent: "payment_method", outcome: "success" },
      { action: "portal_open", intent: null, outcome: "invalid-body" },
      { action: "checkout_start", intent: "pro", outcome: "already-subscribed" },
    ]);
    expect(entries[0]!.latencyMs).toBeGreaterThanOrEqual(0);
    expect(entries[1]!.latencyMs).toBeNull();
    const stored = JSON.stringify(entries);
    expect(stored).not.toContain(signature);
    expect(stored).not.toMatch(/https?:|\/portal\/|signature|expires=/);
  });

  test("records a webhook-applied subscription change, once, in the same transaction", async () => {
    const user = await services.database.prisma.user.findUniqueOrThrow({ where: { email: PAST_DUE_USER.email } });
    const delivery = sign(
      "stripe",
      subscriptionEvent("stripe", {
        userId: user.id,
        customerId: PAST_DUE_USER.customer.providerCustomerId,
        subscriptionId: PAST_DUE_USER.subscription.providerSubscriptionId,
        status: "active",
        planId: "price_emulated_pro",
        periodEnd: new Date(Date.now() + 30 * 86_400_000),
        at: new Date(),
      }),
      "whsec_activityTestSecret",
    );
    for (let i = 0; i < 2; i++) {
      expect((await services.handleWebhook("stripe", webhookRequest(`${APP}/webhooks/stripe`, delivery))).status).toBe(200);
    }
    const changes = (await entriesFor(PAST_DUE_USER.email)).filter((entry) => entry.action === "subscription_change");
    // Past due to active: the customer reads it as the payment going through (issue 16, item 8).
    expect(changes).toEqual([expect.objectContaining({ provider: "stripe", outcome: "payment_recovered", latencyMs: null })]);
  });

  test("entries older than the retention are pruned", async () => {
    const user = await services.database.prisma.user.findUniqueOrThrow({ where: { email: "nobody@demo.test" } });
    const old = new Date(Date.now() - 91 * 86_400_000);
    const recent = new Date(Date.now() - 89 * 86_400_000);
    for (const createdAt of [old, recent]) {
      await services.database.prisma.billingActivity.create({
        data: { organizationId: personalOrganizationId(user.id), provider: "stripe", action: "portal_open", intent: "manage", outcome: "success", createdAt },
      });
    }
    await services.activity.prune();
    const left = await entriesFor("nobody@demo.test");
    expect(left.map((entry) => entry.createdAt)).toEqual([recent]);
  });
});
