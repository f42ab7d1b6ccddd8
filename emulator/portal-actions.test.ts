import { getCustomer } from "@lemonsqueezy/lemonsqueezy.js";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import type { ProviderId } from "~/billing/providers/provider.ts";
import { DEMO_SUBSCRIPTIONS } from "./demo-subscriptions.ts";
import {
  APP,
  eventType,
  lemonSqueezyClient,
  openCheckout,
  pay,
  polarClient,
  portalAction,
  PRO,
  STARTER,
  startReceiver,
  stripeClient,
  verify,
  type Receiver,
} from "./lifecycle-test-kit.ts";
import { startProviderEmulator, type ProviderEmulator } from "./provider-emulator.ts";
import type { WebhookSecrets } from "./webhook-signing.ts";

const RETURN_URL = `${APP}/account?from=portal`;

let emulator: ProviderEmulator;
let receiver: Receiver;
let secrets: WebhookSecrets;
let undoLemonSqueezyRouting: () => void;
let userCount = 0;

beforeAll(async () => {
  emulator = await startProviderEmulator({ appReturnUrl: `${APP}/account`, webhooks: { retryDelaysMs: [20, 50, 100] } });
  receiver = await startReceiver();
  undoLemonSqueezyRouting = lemonSqueezyClient(emulator);
});
afterAll(async () => {
  undoLemonSqueezyRouting();
  await emulator.close();
  await receiver.close();
});
beforeEach(async () => {
  await emulator.lifecycle.delivery.idle();
  emulator.reset();
  secrets = emulator.lifecycle.registerWebhooks(receiver.url);
});

let consumed = 0;
/** The webhooks received since the last call, verified with the provider's verifier. */
async function takeEvents() {
  await emulator.lifecycle.delivery.idle();
  const fresh = receiver.received.slice(consumed);
  consumed = receiver.received.length;
  return Promise.all(
    fresh.map(async (webhook) => {
      const event = await verify(webhook, secrets);
      return { provider: webhook.provider, type: eventType(webhook.provider, event), event };
    }),
  );
}
/** The portal page's URL, opened the way the app opens it at each provider. */
async function portalUrl(provider: ProviderId, customerId: string): Promise<string> {
  if (provider === "stripe") return (await stripeClient(emulator).billingPortal.sessions.create({ customer: customerId, return_url: RETURN_URL })).url;
  if (provider === "polar") {
    return (await polarClient(emulator).customerSessions.create({ customer_id: customerId, return_url: RETURN_URL })).customer_portal_url;
  }
  return (await getCustomer(customerId)).data!.data.attributes.urls.customer_portal!;
}

async function page(url: string): Promise<string> {
  const response = await fetch(url);
  expect(response.status).toBe(200);
  return response.text();
}

/** The subscription state each provider's event carries, in one shape for the assertions. */
function stateOf(provider: string, event: Record<string, any>) {
  if (provider === "stripe") {
    const subscription = event.data.object;
    return { status: subscription.status, cancelling: subscription.cancel_at_period_end, plan: subscription.items.data[0].price.id };
  }
  if (provider === "polar") return { status: event.data.status, cancelling: event.data.cancel_at_period_end, plan: event.data.product_id };
  const { attributes } = event.data;
  return { status: attributes.status, cancelling: attributes.cancelled, plan: String(attributes.variant_id) };
}

const PLAN_ID = { stripe: "stripePriceId", polar: "polarProductId", lemonsqueezy: "lemonSqueezyVariantId" } as const;

const EXPECTED = {
  stripe: {
    cancel: ["customer.subscription.updated"],
    resume: ["customer.subscription.updated"],
    switch: ["customer.subscription.updated"],
    card: ["customer.subscription.updated"],
    failed: ["invoice.payment_failed", "customer.subscription.updated"],
    recovered: ["invoice.paid", "customer.subscription.updated"],
    cancelledStatus: "active",
  },
  polar: {
    cancel: ["subscription.updated", "subscription.canceled"],
    resume: ["subscription.updated", "subscription.uncanceled"],
    switch: ["subscription.updated"],
    card: ["subscription.updated"],
    failed: ["subscription.updated", "subscription.past_due"],
    recovered: ["subscription.updated", "subscription.active"],
    cancelledStatus: "active",
  },
  lemonsqueezy: {
    cancel: ["subscription_cancelled", "subscription_updated"],
    resume: ["subscription_resumed", "subscription_updated"],
    switch: ["subscription_updated"],
    card: ["subscription_updated"],
    failed: ["subscription_payment_failed", "subscription_updated"],
    recovered: ["subscription_payment_success", "subscription_payment_recovered", "subscription_updated"],
    cancelledStatus: "cancelled",
  },
} as const;

const PROVIDERS = ["stripe", "polar", "lemonsqueezy"] as const;

describe.each(PROVIDERS)("%s portal page", (provider) => {
  const expected = EXPECTED[provider];
  const lastState = (events: Awaited<ReturnType<typeof takeEvents>>) => {
    const subscriptionEvents = events.filter((event) => provider !== "lemonsqueezy" || event.event.data.type === "subscriptions");
    const stripeSubscriptionEvents = subscriptionEvents.filter((event) => provider !== "stripe" || event.event.data.object.object === "subscription");
    return stateOf(provider, stripeSubscriptionEvents.at(-1)!.event);
  };

  it("shows the subscription and cancels at period end, then resumes, each firing the provider's events", async () => {
    const { customerId } = await subscribeAndCollect(provider);
    const url = await portalUrl(provider, customerId);
    const before = await page(url);
    expect(before).toContain("Pro ($29 / month)");
    expect(before).toContain("<dd>Active</dd>");
    expect(before).toContain("Renews on");

    const cancelled = await portalAction(url, { action: "cancel" });
    expect(cancelled.status).toBe(303);
    const after = await page(new URL(cancelled.headers.get("location")!, url).href);
    expect(after).toMatch(/<dd>Cancels on \w+ \d+, \d{4}<\/dd>/);
    expect(after).toContain("Resume subscription");
    expect(after).toContain("will end at the end of the billing period");
    const returnUrl = provider === "lemonsqueezy" ? `${APP}/account` : RETURN_URL;
    expect(after).toContain(`href="${returnUrl.replaceAll("&", "&#38;")}">Return to the app`);
    const cancelEvents = await takeEvents();
    expect(cancelEvents.map((event) => event.type)).toEqual(expected.cancel);
    expect(lastState(cancelEvents)).toEqual({ status: expected.cancelledStatus, cancelling: true, plan: PRO[PLAN_ID[provider]] });

    const resumed = await portalAction(url, { action: "resume" });
    expect(resumed.status).toBe(303);
    const resumeEvents = await takeEvents();
    expect(resumeEvents.map((event) => event.type)).toEqual(expected.resume);
    expect(lastState(resumeEvents)).toEqual({ status: "active", cancelling: false, plan: PRO[PLAN_ID[provider]] });
  });

  it("switches Pro to Starter and updates the card, each firing an update", async () => {
    const { customerId } = await subscribeAndCollect(provider);
    const url = await portalUrl(provider, customerId);

    await portalAction(url, { action: "switch_plan", plan: "starter" });
    const switchEvents = await takeEvents();
    expect(switchEvents.map((event) => event.type)).toEqual(expected.switch);
    expect(lastState(switchEvents).plan).toBe(STARTER[PLAN_ID[provider]]);
    expect(await page(url)).toContain("Starter ($9 / month)");

    await portalAction(url, { action: "update_card", card: "4242 4242 4242 4242" });
    expect((await takeEvents()).map((event) => event.type)).toEqual(expected.card);
  });

  it("a failed renewal makes the subscription past_due, and updating the card recovers it", async () => {
    const { customerId, subscriptionId } = await subscribeAndCollect(provider);
    const renewal = await fetch(`${emulator.origin}/__emulator/subscriptions/${provider}/${subscriptionId}/renewal`, {
      method: "POST",
      body: JSON.stringify({ outcome: "failed" }),
    });
    expect(renewal.status).toBe(200);
    const failedEvents = await takeEvents();
    expect(failedEvents.map((event) => event.type)).toEqual(expected.failed);
    expect(lastState(failedEvents).status).toBe("past_due");

    const url = await portalUrl(provider, customerId);
    expect(await page(url)).toContain("Your last payment failed");
    await portalAction(url, { action: "update_card" });
    const recoveredEvents = await takeEvents();
    expect(recoveredEvents.map((event) => event.type)).toEqual(expected.recovered);
    expect(lastState(recoveredEvents).status).toBe("active");
    expect(await page(url)).not.toContain("Your last payment failed");
  });

  it("refuses an unknown action and changes nothing", async () => {
    const { customerId } = await subscribeAndCollect(provider);
    const url = await portalAction(await portalUrl(provider, customerId), { action: "delete_everything" });
    expect(url.status).toBe(400);
    expect(await takeEvents()).toEqual([]);
  });
});

describe("demo customers", () => {
  it("start with the demo users' subscriptions, including the past-due one", async () => {
    const response = await fetch(`${emulator.origin}/__emulator/subscriptions`);
    const subscriptions = await response.json();
    for (const demo of DEMO_SUBSCRIPTIONS) {
      expect(subscriptions).toContainEqual(
        expect.objectContaining({ provider: demo.provider, id: demo.subscriptionId, plan: demo.plan, status: demo.status }),
      );
    }
  });

  it("the past-due demo user's portal asks for a new card", async () => {
    const pastDue = emulator.lifecycle.summaries("stripe").find((summary) => summary.id === "sub_DemoPastDue0001")!;
    expect(await page(await portalUrl("stripe", pastDue.customerId))).toContain("Your last payment failed");
  });
});

/** Subscribes and swallows the checkout's own events, so each test sees only what its actions send. */
async function subscribeAndCollect(provider: ProviderId) {
  const userId = `user_portal_${++userCount}`;
  await pay(await openCheckout(emulator, provider, userId));
  const events = await takeEvents();
  const subscription = events.find((event) => event.type === { stripe: "customer.subscription.created", polar: "subscription.created", lemonsqueezy: "subscription_created" }[provider])!.event;
  if (provider === "stripe") return { userId, customerId: subscription.data.object.customer as string, subscriptionId: subscription.data.object.id as string };
  if (provider === "polar") return { userId, customerId: subscription.data.customer.id as string, subscriptionId: subscription.data.id as string };
  return { userId, customerId: String(subscription.data.attributes.customer_id), subscriptionId: subscription.data.id as string };
}
