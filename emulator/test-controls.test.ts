import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { DEMO_SUBSCRIPTIONS, demoSubscriptions } from "./demo-subscriptions.ts";
import { APP, eventType, startReceiver, verify, type Receiver } from "./lifecycle-test-kit.ts";
import { startProviderEmulator, type ProviderEmulator } from "./provider-emulator.ts";
import type { DeliveryRecord } from "./webhook-delivery.ts";
import type { WebhookSecrets } from "./webhook-signing.ts";

let emulator: ProviderEmulator;
let receiver: Receiver;
let secrets: WebhookSecrets;

beforeAll(async () => {
  emulator = await startProviderEmulator({ appReturnUrl: `${APP}/account`, webhooks: { retryDelaysMs: [20, 50, 100] } });
  receiver = await startReceiver();
});
afterAll(async () => {
  await emulator.close();
  await receiver.close();
});
beforeEach(async () => {
  await emulator.lifecycle.delivery.idle();
  emulator.reset();
  // reset() keeps subscriptions, and tests here cancel or switch the demo ones: each test starts from them as seeded.
  for (const subscription of demoSubscriptions(Date.now())) emulator.lifecycle.subscriptions.add(subscription, { silent: true });
  receiver.reset();
  secrets = emulator.lifecycle.registerWebhooks(receiver.url);
});

async function control(path: string, body: object = {}) {
  const response = await fetch(`${emulator.origin}/__emulator/${path}`, { method: "POST", body: JSON.stringify(body) });
  return { status: response.status, body: await response.json() };
}

async function received() {
  await emulator.lifecycle.delivery.idle();
  return Promise.all(receiver.received.map(async (webhook) => ({ webhook, event: await verify(webhook, secrets) })));
}

const [stripeDemo, polarDemo, lemonDemo] = DEMO_SUBSCRIPTIONS;

describe("redelivery and duplicates", () => {
  it("redelivers an already-sent event with the same id and the same body", async () => {
    await control(`subscriptions/stripe/${stripeDemo.subscriptionId}/actions`, { action: "switch_plan" });
    const [original] = emulator.lifecycle.delivery.list() as [DeliveryRecord];

    const { status, body } = await control(`deliveries/${original.id}/redeliver`);
    expect(status).toBe(200);
    expect(body.deliveries).toHaveLength(1);
    const arrivals = await received();
    expect(arrivals).toHaveLength(2);
    expect(arrivals.map(({ event }) => event.id)).toEqual([original.eventId, original.eventId]);
    expect(arrivals[1]!.webhook.body).toBe(arrivals[0]!.webhook.body);
  });

  it("delivers N copies of one event at once", async () => {
    await control(`subscriptions/polar/${polarDemo.subscriptionId}/actions`, { action: "switch_plan" });
    const [original] = emulator.lifecycle.delivery.list() as [DeliveryRecord];

    await control(`deliveries/${original.id}/redeliver`, { copies: 3 });
    const arrivals = await received();
    expect(arrivals).toHaveLength(4);
    // Polar's event id is the Standard Webhooks message id header.
    expect(new Set(arrivals.map(({ webhook }) => webhook.headers["webhook-id"]))).toEqual(new Set([original.eventId]));
    expect(new Set(arrivals.map(({ webhook }) => webhook.body)).size).toBe(1);
  });

  it("refuses an unknown delivery or a number of copies out of range", async () => {
    expect((await control("deliveries/dlv_nope/redeliver")).status).toBe(404);
    await control(`subscriptions/polar/${polarDemo.subscriptionId}/actions`, { action: "switch_plan" });
    const [original] = emulator.lifecycle.delivery.list() as [DeliveryRecord];
    expect((await control(`deliveries/${original.id}/redeliver`, { copies: 0 })).status).toBe(400);
    expect((await control(`deliveries/${original.id}/redeliver`, { copies: 1000 })).status).toBe(400);
  });
});

describe("out-of-order delivery", () => {
  it("Stripe: the newer state arrives first, then a distinct event with the older state and an earlier `created`", async () => {
    const { status } = await control(`subscriptions/stripe/${stripeDemo.subscriptionId}/out-of-order`, { action: "cancel" });
    expect(status).toBe(200);
    const [newer, older] = (await received()).map(({ event }) => event);
    expect(newer!.data.object.cancel_at_period_end).toBe(true);
    expect(older!.data.object.cancel_at_period_end).toBe(false);
    expect(older!.type).toBe("customer.subscription.updated");
    expect(older!.id).not.toBe(newer!.id);
    expect(older!.created).toBeLessThan(newer!.created);
    // The emulator's own state is the newer one.
    expect(emulator.lifecycle.summaries("stripe").find((summary) => summary.id === stripeDemo.subscriptionId)!.cancelAtPeriodEnd).toBe(true);
  });

  it("Polar and Lemon Squeezy: the late event carries the older state and an older timestamp", async () => {
    await control(`subscriptions/polar/${polarDemo.subscriptionId}/out-of-order`, { action: "switch_plan" });
    const polar = (await received()).map(({ event }) => event);
    expect(polar.map((event) => event.type)).toEqual(["subscription.updated", "subscription.updated"]);
    expect(polar[0]!.data.product_id).not.toBe(polar[1]!.data.product_id);
    expect(Date.parse(polar[1]!.timestamp)).toBeLessThan(Date.parse(polar[0]!.timestamp));

    receiver.reset();
    await control(`subscriptions/lemonsqueezy/${lemonDemo.subscriptionId}/out-of-order`, { action: "cancel" });
    const lemon = (await received()).map(({ event }) => event);
    expect(lemon.map((event) => eventType("lemonsqueezy", event))).toEqual(["subscription_cancelled", "subscription_updated", "subscription_updated"]);
    expect(lemon[1]!.data.attributes.status).toBe("cancelled");
    expect(lemon[2]!.data.attributes.status).toBe("active");
    expect(Date.parse(lemon[2]!.data.attributes.updated_at)).toBeLessThan(Date.parse(lemon[1]!.data.attributes.updated_at));
  });

  it("refuses an action that would change nothing", async () => {
    await control(`subscriptions/lemonsqueezy/${lemonDemo.subscriptionId}/actions`, { action: "cancel" });
    expect((await control(`subscriptions/lemonsqueezy/${lemonDemo.subscriptionId}/out-of-order`, { action: "cancel" })).status).toBe(409);
  });
});

describe("control errors", () => {
  it("answers 404 for an unknown subscription and 400 for a bad action, outcome or body", async () => {
    expect((await control("subscriptions/stripe/sub_nope/renewal", { outcome: "failed" })).status).toBe(404);
    expect((await control(`subscriptions/stripe/${stripeDemo.subscriptionId}/renewal`, { outcome: "maybe" })).status).toBe(400);
    expect((await control(`subscriptions/stripe/${stripeDemo.subscriptionId}/actions`, { action: "explode" })).status).toBe(400);
    expect((await control(`subscriptions/paypal/x/actions`, { action: "cancel" })).status).toBe(400);
    const notJson = await fetch(`${emulator.origin}/__emulator/webhooks`, { method: "POST", body: "{" });
    expect(notJson.status).toBe(400);
    expect(receiver.received).toHaveLength(0);
  });
});
