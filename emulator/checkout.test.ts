import { createCheckout, getCustomer } from "@lemonsqueezy/lemonsqueezy.js";
import { errors as polarErrors } from "@polar-sh/sdk/2026-10";
import { Stripe } from "stripe";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import {
  APP,
  eventType,
  lemonSqueezyClient,
  openCheckout,
  pay,
  polarClient,
  PRO,
  startReceiver,
  stripeClient,
  verify,
  type Receiver,
} from "./lifecycle-test-kit.ts";
import { LEMON_SQUEEZY_STORE_ID } from "./plans.ts";
import { startProviderEmulator, type ProviderEmulator } from "./provider-emulator.ts";
import type { WebhookSecrets } from "./webhook-signing.ts";

let emulator: ProviderEmulator;
let receiver: Receiver;
let secrets: WebhookSecrets;
let undoLemonSqueezyRouting: () => void;

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
  receiver.reset();
  secrets = emulator.lifecycle.registerWebhooks(receiver.url);
});

/** Every webhook the receiver got, verified with the provider's own verifier. */
async function verifiedEvents() {
  await emulator.lifecycle.delivery.idle();
  return Promise.all(
    receiver.received.map(async (webhook) => {
      const event = await verify(webhook, secrets);
      return { provider: webhook.provider, type: eventType(webhook.provider, event), event };
    }),
  );
}

describe("checkout creation through the official SDKs", () => {
  it("Stripe's SDK gets a checkout.session whose URL is a page on the emulator's origin showing the plan and price", async () => {
    const url = await openCheckout(emulator, "stripe", "user_stripe_1");
    expect(new URL(url).origin).toBe(emulator.origin);

    const page = await fetch(url);
    const html = await page.text();
    expect(page.status).toBe(200);
    expect(html).toContain("Subscribe to Pro");
    expect(html).toContain("$29 / month");
    expect(html).toMatch(/<button type="submit">Pay/);
    expect(html).toContain(`href="${APP}/pricing"`);
  });

  it("Stripe refuses an unknown price with its own error envelope", async () => {
    const create = stripeClient(emulator).checkout.sessions.create({
      mode: "subscription",
      line_items: [{ price: "price_nope", quantity: 1 }],
      success_url: `${APP}/account`,
    });
    const error = await create.catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(Stripe.errors.StripeInvalidRequestError);
    expect(error).toMatchObject({ statusCode: 400, code: "resource_missing", param: "line_items[0][price]", message: "No such price: 'price_nope'" });
  });

  it("Stripe refuses a checkout without a success URL and one naming both a customer and an email", async () => {
    const stripe = stripeClient(emulator);
    const line_items = [{ price: PRO.stripePriceId, quantity: 1 }];
    await expect(stripe.checkout.sessions.create({ mode: "subscription", line_items })).rejects.toMatchObject({ param: "success_url" });
    await expect(
      stripe.checkout.sessions.create({ mode: "subscription", line_items, success_url: `${APP}/a`, customer: "cus_DemoStripe0001", customer_email: "x@example.test" }),
    ).rejects.toMatchObject({ statusCode: 400, message: expect.stringContaining("only specify one of") });
  });

  it("Polar's SDK gets a checkout URL on the emulator's origin, and an unknown product is a validation error", async () => {
    const url = await openCheckout(emulator, "polar", "user_polar_1");
    expect(new URL(url).origin).toBe(emulator.origin);
    expect(await (await fetch(url)).text()).toContain("Subscribe to Pro");

    const error = await polarClient(emulator)
      .checkouts.create({ products: ["00000000-0000-4000-8000-000000000000"], success_url: `${APP}/account` })
      .catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(polarErrors.HTTPValidationError);
    expect((error as { error: { detail: { loc: unknown[] }[] } }).error.detail[0]!.loc).toEqual(["body", "products", 0]);
  });

  it("Lemon Squeezy's SDK gets data.attributes.url on the emulator's origin, and an unknown variant or store is refused", async () => {
    const url = await openCheckout(emulator, "lemonsqueezy", "user_lemon_1");
    expect(new URL(url).origin).toBe(emulator.origin);
    expect(await (await fetch(url)).text()).toContain("Subscribe to Pro");

    const unknownVariant = await createCheckout(LEMON_SQUEEZY_STORE_ID, "999", {});
    expect(unknownVariant.statusCode).toBe(422);
    expect(unknownVariant.error).not.toBeNull();
    const unknownStore = await createCheckout("1", PRO.lemonSqueezyVariantId, {});
    expect(unknownStore.statusCode).toBe(422);
  });
});

describe("paying on the hosted checkout page", () => {
  it("Stripe: delivers signed subscription, invoice and checkout events carrying the user id, then returns to the success URL", async () => {
    const url = await openCheckout(emulator, "stripe", "user_stripe_pay");
    const response = await pay(url);

    const sessionId = new URL(url).pathname.split("/").at(-1)!;
    expect(response.status).toBe(303);
    expect(response.headers.get("location")).toBe(`${APP}/account?checkout=success&session=${sessionId}`);

    const events = await verifiedEvents();
    expect(events.map((event) => event.type)).toEqual(["customer.subscription.created", "invoice.paid", "checkout.session.completed"]);
    for (const { event } of events) expect(event).toMatchObject({ id: expect.stringMatching(/^evt_/), object: "event", api_version: Stripe.API_VERSION, created: expect.any(Number) });
    const subscription = events[0]!.event.data.object;
    expect(subscription).toMatchObject({
      object: "subscription",
      status: "active",
      cancel_at_period_end: false,
      metadata: { user_id: "user_stripe_pay" },
      items: { data: [{ price: { id: PRO.stripePriceId }, current_period_end: expect.any(Number) }] },
    });
    expect(subscription.items.data[0].current_period_end).toBeGreaterThan(Date.now() / 1000 + 27 * 86_400);
    const session = events[2]!.event.data.object;
    expect(session).toMatchObject({ id: sessionId, client_reference_id: "user_stripe_pay", subscription: subscription.id, customer: subscription.customer, status: "complete" });
    expect(events[1]!.event.data.object.parent.subscription_details.subscription).toBe(subscription.id);
  });

  it("Polar: delivers Standard Webhooks its SDK accepts, with the user id as the customer's external_id", async () => {
    const response = await pay(await openCheckout(emulator, "polar", "user_polar_pay"));
    expect(response.status).toBe(303);
    expect(response.headers.get("location")).toBe(`${APP}/account?checkout=success`);

    const events = await verifiedEvents();
    expect(events.map((event) => event.type)).toEqual(["subscription.created", "subscription.active"]);
    expect(events[0]!.event.data).toMatchObject({
      status: "active",
      product_id: PRO.polarProductId,
      cancel_at_period_end: false,
      current_period_end: expect.any(String),
      customer: { external_id: "user_polar_pay", email: "user_polar_pay@example.test" },
      metadata: { user_id: "user_polar_pay" },
    });
  });

  it("Lemon Squeezy: delivers signed order and subscription events with the user id in meta.custom_data", async () => {
    const response = await pay(await openCheckout(emulator, "lemonsqueezy", "user_lemon_pay"));
    expect(response.status).toBe(303);
    expect(response.headers.get("location")).toBe(`${APP}/account?checkout=success`);

    const events = await verifiedEvents();
    expect(events.map((event) => event.type)).toEqual(["order_created", "subscription_created", "subscription_payment_success"]);
    expect(receiver.received.map((webhook) => webhook.headers["x-event-name"])).toEqual(events.map((event) => event.type));
    for (const { event } of events) expect(event.meta.custom_data).toEqual({ user_id: "user_lemon_pay" });
    const subscription = events[1]!.event.data;
    expect(subscription).toMatchObject({
      type: "subscriptions",
      attributes: { status: "active", variant_id: Number(PRO.lemonSqueezyVariantId), cancelled: false, ends_at: null, renews_at: expect.any(String) },
    });
    expect(subscription.attributes.urls.customer_portal).toMatch(new RegExp(`^${emulator.origin}/portal/lemonsqueezy/`));
    expect((await fetch(subscription.attributes.urls.customer_portal)).status).toBe(200);
  });

  // PROVIDERS.md §5.5: a trial in each provider's own words.
  it("a trial: Stripe and Polar trialing with trial_start/trial_end, Lemon Squeezy on_trial with trial_ends_at and no first item", async () => {
    const inTwoWeeks = Date.now() + 14 * 86_400_000;
    const near = (ms: number) => Math.abs(ms - inTwoWeeks) < 60_000;

    await pay(await openCheckout(emulator, "stripe", "user_stripe_trial", PRO, 14));
    const stripe = (await verifiedEvents())[0]!.event.data.object;
    expect(stripe).toMatchObject({ status: "trialing", trial_start: expect.any(Number), trial_end: expect.any(Number) });
    expect(near(stripe.trial_end * 1000)).toBe(true);
    receiver.reset();

    await pay(await openCheckout(emulator, "polar", "user_polar_trial", PRO, 14));
    const polarEvents = await verifiedEvents();
    // A trialing subscription is not "active": Polar sends created and updated.
    expect(polarEvents.map((event) => event.type)).toEqual(["subscription.created", "subscription.updated"]);
    expect(polarEvents[0]!.event.data).toMatchObject({ status: "trialing", trial_start: expect.any(String), trial_end: expect.any(String) });
    expect(near(Date.parse(polarEvents[0]!.event.data.trial_end))).toBe(true);
    receiver.reset();

    // Lemon Squeezy: the variant's trial (the catalogue's 14 days for Pro), unless the checkout skips it.
    await pay(await openCheckout(emulator, "lemonsqueezy", "user_lemon_trial", PRO, 14));
    const lemon = (await verifiedEvents())[1]!.event.data.attributes;
    expect(lemon).toMatchObject({ status: "on_trial", first_subscription_item: null, trial_ends_at: expect.any(String) });
    expect(near(Date.parse(lemon.trial_ends_at))).toBe(true);
  });

  it("paying twice (a double click) creates one subscription and lands on the success URL again", async () => {
    const url = await openCheckout(emulator, "stripe", "user_twice");
    await pay(url);
    const again = await pay(url);

    expect(again.status).toBe(303);
    const events = await verifiedEvents();
    expect(events.filter((event) => event.type === "customer.subscription.created")).toHaveLength(1);
    expect(emulator.lifecycle.summaries("stripe").filter((summary) => summary.metadata.user_id === "user_twice")).toHaveLength(1);
  });

  it("customers created by checkout open portals like the demo ones, at each provider", async () => {
    await pay(await openCheckout(emulator, "stripe", "user_portal"));
    await pay(await openCheckout(emulator, "polar", "user_portal"));
    await pay(await openCheckout(emulator, "lemonsqueezy", "user_portal"));
    const events = await verifiedEvents();
    const byProvider = (provider: string) => events.find((event) => event.provider === provider)!.event;

    const stripeCustomer = byProvider("stripe").data.object.customer;
    const stripePortal = await stripeClient(emulator).billingPortal.sessions.create({ customer: stripeCustomer, return_url: `${APP}/account` });
    expect(await (await fetch(stripePortal.url)).text()).toContain("Pro ($29 / month)");

    const polarCustomer = byProvider("polar").data.customer.id;
    const polarSession = await polarClient(emulator).customerSessions.create({ customer_id: polarCustomer, return_url: `${APP}/account` });
    expect(await (await fetch(polarSession.customer_portal_url)).text()).toContain("Pro ($29 / month)");
    const byExternalId = await polarClient(emulator).customerSessions.create({ external_customer_id: "user_portal" });
    expect(byExternalId.customer_id).toBe(polarCustomer);

    const lemonCustomer = byProvider("lemonsqueezy").data.attributes.customer_id;
    const { data } = await getCustomer(lemonCustomer);
    expect(data!.data.attributes.urls.customer_portal).not.toBeNull();
    expect(await (await fetch(data!.data.attributes.urls.customer_portal!)).text()).toContain("Pro ($29 / month)");
  });

  it("Stripe: a checkout for an existing customer subscribes that customer instead of creating one", async () => {
    const session = await stripeClient(emulator).checkout.sessions.create({
      mode: "subscription",
      line_items: [{ price: PRO.stripePriceId, quantity: 1 }],
      customer: "cus_DemoStripe0001",
      client_reference_id: "user_existing",
      subscription_data: { metadata: { user_id: "user_existing" } },
      success_url: `${APP}/account`,
    });
    await pay(session.url!);
    const [created] = await verifiedEvents();
    expect(created!.event.data.object).toMatchObject({ customer: "cus_DemoStripe0001", metadata: { user_id: "user_existing" } });
  });

  it("an expired or unknown checkout link says so instead of taking a payment", async () => {
    expect((await fetch(`${emulator.origin}/checkout/stripe/c/pay/cs_test_unknown`)).status).toBe(404);
    expect((await pay(`${emulator.origin}/checkout/polar/polar_c_unknown`)).status).toBe(404);
    expect(receiver.received).toHaveLength(0);
  });
});
