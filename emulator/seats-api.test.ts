import { getSubscription, listSubscriptionItems, updateSubscriptionItem } from "@lemonsqueezy/lemonsqueezy.js";
import { errors as polarErrors } from "@polar-sh/sdk/2026-10";
import { PolarClientError } from "@polar-sh/sdk";
import { Stripe } from "stripe";
import { afterAll, beforeAll, beforeEach, describe, expect, test } from "vitest";
import type { ProviderId } from "~/billing/providers/provider.ts";
import { APP, lemonSqueezyClient, openCheckout, pay, polarClient, PRO, startReceiver, stripeClient, verify, type Receiver } from "./lifecycle-test-kit.ts";
import { findPlan } from "./plans.ts";
import { startProviderEmulator, type ProviderEmulator } from "./provider-emulator.ts";
import type { WebhookSecrets } from "./webhook-signing.ts";

// The emulator's seat counts in each provider's wire format, through the providers' own SDKs (PROVIDERS.md §5.4):
// what each refuses, the signed update webhook each sends, and the count on the portal page.

const TEAM = findPlan("team")!;
let emulator: ProviderEmulator;
let receiver: Receiver;
let secrets: WebhookSecrets;
let undoRouting: () => void;

beforeAll(async () => {
  emulator = await startProviderEmulator({ appReturnUrl: `${APP}/account` });
  receiver = await startReceiver();
  undoRouting = lemonSqueezyClient(emulator);
});
afterAll(async () => {
  undoRouting();
  await receiver.close();
  await emulator.close();
});
beforeEach(async () => {
  await emulator.lifecycle.delivery.idle();
  emulator.reset();
  receiver.reset();
  secrets = emulator.lifecycle.registerWebhooks(receiver.url);
});

/** A paid subscription to `plan`, made through the provider's checkout; its id at the emulator. */
async function subscribed(provider: ProviderId, plan = TEAM): Promise<string> {
  const userId = `seat-user-${provider}-${Math.random().toString(36).slice(2)}`;
  await pay(await openCheckout(emulator, provider, userId, plan));
  return emulator.lifecycle.summaries(provider).find((summary) => summary.metadata.user_id === userId)!.id;
}

async function updateEvents(provider: ProviderId) {
  await emulator.lifecycle.delivery.idle();
  return Promise.all(receiver.received.filter((webhook) => webhook.provider === provider).map((webhook) => verify(webhook, secrets)));
}

const quantityOf = (provider: ProviderId, id: string) => emulator.lifecycle.summaries(provider).find((summary) => summary.id === id)!.quantity;

describe("Stripe", () => {
  test("an items entry without its id is a new item, which the emulator refuses; with the id the quantity changes and the update event says so", async () => {
    const stripe = stripeClient(emulator);
    const id = await subscribed("stripe");
    const refused = await stripe.subscriptions.update(id, { items: [{ price: TEAM.stripePriceId, quantity: 5 }] }).catch((error: unknown) => error);
    expect(refused).toBeInstanceOf(Stripe.errors.StripeInvalidRequestError);
    expect(quantityOf("stripe", id)).toBe(1);

    receiver.reset();
    const item = (await stripe.subscriptions.retrieve(id)).items.data[0]!;
    const updated = await stripe.subscriptions.update(id, { items: [{ id: item.id, quantity: 5 }], proration_behavior: "create_prorations" });
    expect(updated.items.data).toHaveLength(1);
    expect(updated.items.data[0]).toMatchObject({ id: item.id, quantity: 5 });
    const [event] = await updateEvents("stripe");
    expect(event).toMatchObject({ type: "customer.subscription.updated", data: { object: { items: { data: [{ quantity: 5 }] } }, previous_attributes: { items: expect.anything() } } });
  });

  test("a proration behaviour Stripe does not have is refused", async () => {
    const id = await subscribed("stripe");
    const item = (await stripeClient(emulator).subscriptions.retrieve(id)).items.data[0]!;
    const update = stripeClient(emulator).subscriptions.update(id, { items: [{ id: item.id, quantity: 2 }], proration_behavior: "sometimes" as "none" });
    await expect(update).rejects.toBeInstanceOf(Stripe.errors.StripeInvalidRequestError);
  });
});

describe("Polar", () => {
  test("a seat-based product takes `seats` at checkout and in subscriptions.update, answering the Subscription and sending subscription.updated", async () => {
    const polar = polarClient(emulator);
    const checkout = await polar.checkouts.create({ products: [TEAM.polarProductId], seats: 3, external_customer_id: "seat-polar-buyer", success_url: `${APP}/ok` });
    expect(checkout.seats).toBe(3);
    expect(await (await fetch(checkout.url)).text()).toMatch(/<dt>Seats<\/dt><dd>3<\/dd>/);
    expect(checkout.product?.prices[0]).toMatchObject({ amount_type: "seat_based", seat_tiers: { minimum_seats: 1 } });
    await pay(checkout.url);
    const id = emulator.lifecycle.summaries("polar").find((summary) => summary.customerId && summary.quantity === 3)!.id;
    receiver.reset();

    const updated = await polar.subscriptions.update(id, { seats: 4, proration_behavior: "prorate" });
    expect(updated.seats).toBe(4);
    const events = await updateEvents("polar");
    expect(events.map((event) => [event.type, event.data.seats])).toEqual([["subscription.updated", 4]]);
  });

  test("seats for a product without seat-based pricing: 422 at checkout, 400 on update; a cancelling subscription: 403", async () => {
    const polar = polarClient(emulator);
    await expect(polar.checkouts.create({ products: [PRO.polarProductId], seats: 3 })).rejects.toBeInstanceOf(polarErrors.HTTPValidationError);
    const fixed = await subscribed("polar", PRO);
    const notSeatBased = await polar.subscriptions.update(fixed, { seats: 2 }).catch((error: unknown) => error);
    expect(notSeatBased).toBeInstanceOf(PolarClientError);
    expect((notSeatBased as PolarClientError).statusCode).toBe(400);

    const team = await subscribed("polar");
    await emulator.lifecycle.act("polar", team, { action: "cancel" });
    await expect(polar.subscriptions.update(team, { seats: 2 })).rejects.toBeInstanceOf(polarErrors.SubscriptionsUpdate403Error);
    expect(quantityOf("polar", team)).toBe(1);
  });
});

describe("Lemon Squeezy", () => {
  test("the item from the subscription (or the item list) takes a quantity; the answer is the item, the event subscription_updated", async () => {
    const id = await subscribed("lemonsqueezy");
    const first = (await getSubscription(id)).data!.data.attributes.first_subscription_item!;
    const listed = (await listSubscriptionItems({ filter: { subscriptionId: id } })).data!.data;
    expect(listed.map((item) => item.id)).toEqual([String(first.id)]);
    receiver.reset();

    const { data, error } = await updateSubscriptionItem(first.id, { quantity: 7 });
    expect(error).toBeNull();
    expect(data!.data).toMatchObject({ type: "subscription-items", attributes: { quantity: 7, subscription_id: Number(id) } });
    const events = await updateEvents("lemonsqueezy");
    expect(events.map((event) => [event.meta.event_name, event.data.attributes.first_subscription_item.quantity])).toEqual([["subscription_updated", 7]]);
  });

  test("a quantity below one is a 422 and changes nothing", async () => {
    const id = await subscribed("lemonsqueezy");
    const first = (await getSubscription(id)).data!.data.attributes.first_subscription_item!;
    expect((await updateSubscriptionItem(first.id, { quantity: 0 })).statusCode).toBe(422);
    expect(quantityOf("lemonsqueezy", id)).toBe(1);
  });
});

test("the portal page shows the seat count", async () => {
  const stripe = stripeClient(emulator);
  const id = await subscribed("stripe");
  const subscription = await stripe.subscriptions.retrieve(id);
  await stripe.subscriptions.update(id, { items: [{ id: subscription.items.data[0]!.id, quantity: 9 }] });
  const customer = typeof subscription.customer === "string" ? subscription.customer : subscription.customer.id;
  const { url } = await stripe.billingPortal.sessions.create({ customer, return_url: `${APP}/account` });
  expect(await (await fetch(url)).text()).toMatch(/<dt>Seats<\/dt><dd>9<\/dd>/);
});
