import { getSubscription } from "@lemonsqueezy/lemonsqueezy.js";
import { Stripe } from "stripe";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import type { ProviderId } from "~/billing/providers/provider.ts";
import { APP, eventType, lemonSqueezyClient, openCheckout, pay, startReceiver, stripeClient, verify, type Receiver } from "./lifecycle-test-kit.ts";
import { startProviderEmulator, type ProviderEmulator } from "./provider-emulator.ts";
import type { WebhookSecrets } from "./webhook-signing.ts";

const RETURN_URL = `${APP}/account?from=portal`;
const DONE_URL = `${APP}/account?billing=done`;
const DAY_MS = 24 * 60 * 60_000;

let emulator: ProviderEmulator;
let receiver: Receiver;
let secrets: WebhookSecrets;
let undoLemonSqueezyRouting: () => void;
let stripe: Stripe;
/** The emulator's clock for link expiry; tests move it forward and put it back. */
let clockOffsetMs = 0;
let userCount = 0;

beforeAll(async () => {
  emulator = await startProviderEmulator({
    appReturnUrl: `${APP}/account`,
    now: () => Date.now() + clockOffsetMs,
    webhooks: { retryDelaysMs: [20, 50, 100] },
  });
  receiver = await startReceiver();
  undoLemonSqueezyRouting = lemonSqueezyClient(emulator);
  stripe = stripeClient(emulator);
});
afterAll(async () => {
  undoLemonSqueezyRouting();
  await emulator.close();
  await receiver.close();
});
beforeEach(async () => {
  clockOffsetMs = 0;
  await emulator.lifecycle.delivery.idle();
  emulator.reset();
  secrets = emulator.lifecycle.registerWebhooks(receiver.url);
  await takeEvents();
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
      return { type: eventType(webhook.provider, event), event };
    }),
  );
}

/** A new customer with an active Pro subscription, through the provider's real checkout; its events are swallowed. */
async function subscribe(provider: ProviderId) {
  const userId = `user_deeplink_${++userCount}`;
  await pay(await openCheckout(emulator, provider, userId));
  await takeEvents();
  const summary = emulator.lifecycle.summaries(provider).find((candidate) => candidate.metadata.user_id === userId)!;
  return { customerId: summary.customerId, subscriptionId: summary.id };
}

/** A second Stripe subscription (Starter) for an existing customer, as a checkout with `customer` makes it. */
async function subscribeAgain(customerId: string): Promise<string> {
  const known = new Set(emulator.lifecycle.summaries("stripe").map((summary) => summary.id));
  const checkout = await stripe.checkout.sessions.create({
    mode: "subscription",
    customer: customerId,
    line_items: [{ price: "price_emulated_starter", quantity: 1 }],
    success_url: `${APP}/account`,
  });
  await pay(checkout.url!);
  await takeEvents();
  const added = emulator.lifecycle.summaries("stripe").find((summary) => !known.has(summary.id))!;
  expect(added.customerId).toBe(customerId);
  return added.id;
}

function subscription(provider: ProviderId, id: string) {
  return emulator.lifecycle.summaries(provider).find((summary) => summary.id === id)!;
}

async function failRenewal(provider: ProviderId, subscriptionId: string) {
  await emulator.lifecycle.renew(provider, subscriptionId, "failed");
  await takeEvents();
  expect(subscription(provider, subscriptionId).status).toBe("past_due");
}

async function page(url: string, headers: Record<string, string> = {}): Promise<string> {
  const response = await fetch(url, { headers });
  expect(response.status).toBe(200);
  return response.text();
}

/** Submits the page's form as a browser without JavaScript would (a POST to the page's own URL). */
function submit(url: string, fields: Record<string, string> = {}): Promise<Response> {
  return fetch(url, {
    method: "POST",
    headers: { "content-type": "application/x-www-form-urlencoded" },
    body: new URLSearchParams(fields),
    redirect: "manual",
  });
}

/** The Stripe error a session creation is refused with. */
async function refusal(params: Stripe.BillingPortal.SessionCreateParams) {
  const error = await stripe.billingPortal.sessions.create(params).then(
    () => undefined,
    (thrown: unknown) => thrown,
  );
  expect(error).toBeInstanceOf(Stripe.errors.StripeInvalidRequestError);
  return error as Stripe.errors.StripeInvalidRequestError;
}

describe("Stripe portal deep links (flow_data)", () => {
  it("payment_method_update lands on the update-card page, in the language the session was created with", async () => {
    const { customerId } = await subscribe("stripe");
    const session = await stripe.billingPortal.sessions.create({
      customer: customerId,
      return_url: RETURN_URL,
      flow_data: { type: "payment_method_update" },
      locale: "fr",
    });
    expect(session.locale).toBe("fr");
    expect(session.flow).toEqual({
      type: "payment_method_update",
      after_completion: { type: "portal_homepage", hosted_confirmation: null, redirect: null },
      customer_update: null,
      subscription_cancel: null,
      subscription_pause: null,
      subscription_update: null,
      subscription_update_confirm: null,
    });
    expect(session.url.startsWith(emulator.origin)).toBe(true);

    const html = await page(session.url);
    expect(html).toContain('<html lang="fr">');
    expect(html).toContain("Language: fr");
    expect(html).toContain("<h1>Update payment method</h1>");
    expect(html).toContain("Emulated Stripe");
    expect(html).toContain(`<code>${customerId}</code>`);
    expect(html).toMatch(/<form method="post" id="update-card">[\s\S]*<button type="submit">Update card<\/button>/);
  });

  it("updating the card on that page recovers a past-due subscription, fires the recovery events and redirects as asked", async () => {
    const { customerId, subscriptionId } = await subscribe("stripe");
    await failRenewal("stripe", subscriptionId);
    const session = await stripe.billingPortal.sessions.create({
      customer: customerId,
      return_url: RETURN_URL,
      flow_data: { type: "payment_method_update", after_completion: { type: "redirect", redirect: { return_url: DONE_URL } } },
    });
    const before = await page(session.url);
    expect(before).toContain("Your last payment for Pro");

    const completed = await submit(session.url, { card: "4242 4242 4242 4242" });
    expect(completed.status).toBe(303);
    expect(completed.headers.get("location")).toBe(DONE_URL);
    expect(subscription("stripe", subscriptionId).status).toBe("active");
    const events = await takeEvents();
    expect(events.map((event) => event.type)).toEqual(["invoice.paid", "customer.subscription.updated"]);
    expect(events[1]!.event.data.object).toMatchObject({ id: subscriptionId, status: "active" });
  });

  it("subscription_cancel lands on a cancel confirmation for that subscription, which cancels it at period end", async () => {
    const { customerId, subscriptionId } = await subscribe("stripe");
    // A later subscription of the same customer, so "the customer's subscription" would pick the wrong one.
    const later = await subscribeAgain(customerId);
    const session = await stripe.billingPortal.sessions.create({
      customer: customerId,
      return_url: RETURN_URL,
      flow_data: { type: "subscription_cancel", subscription_cancel: { subscription: subscriptionId } },
    });
    expect(session.flow?.subscription_cancel).toEqual({ subscription: subscriptionId, retention: null });

    const html = await page(session.url);
    expect(html).toContain("<h1>Cancel subscription</h1>");
    expect(html).toContain(`<code>${subscriptionId}</code>`);
    expect(html).toContain("Pro ($29 / month)");
    expect(html).toContain("Language: not set");

    const completed = await submit(session.url);
    expect(completed.status).toBe(303);
    const home = new URL(completed.headers.get("location")!, session.url);
    expect(home.pathname).toBe(new URL(session.url).pathname.replace(/\/flow$/, ""));
    expect(await page(home.href)).toContain("will end at the end of the billing period");
    expect(subscription("stripe", subscriptionId)).toMatchObject({ status: "active", cancelAtPeriodEnd: true });
    expect(subscription("stripe", later).cancelAtPeriodEnd).toBe(false);
    const events = await takeEvents();
    expect(events.map((event) => event.type)).toEqual(["customer.subscription.updated"]);
    expect(events[0]!.event.data.object).toMatchObject({ id: subscriptionId, cancel_at_period_end: true });
  });

  it("subscription_update lands on a plan switcher for that subscription, then shows the hosted confirmation", async () => {
    const { customerId, subscriptionId } = await subscribe("stripe");
    const session = await stripe.billingPortal.sessions.create({
      customer: customerId,
      return_url: RETURN_URL,
      flow_data: {
        type: "subscription_update",
        subscription_update: { subscription: subscriptionId },
        after_completion: { type: "hosted_confirmation", hosted_confirmation: { custom_message: "Plan changed, thanks!" } },
      },
    });
    const html = await page(session.url);
    expect(html).toContain("<h1>Change plan</h1>");
    expect(html).toContain(`<code>${subscriptionId}</code>`);
    expect(html).toContain("Switch to Starter ($9 / month)");

    const completed = await submit(session.url, { plan: "starter" });
    expect(completed.status).toBe(303);
    const confirmation = await page(new URL(completed.headers.get("location")!, session.url).href);
    expect(confirmation).toContain("Plan changed, thanks!");
    expect(confirmation).toContain(`href="${RETURN_URL}">Return to the app`);
    expect(subscription("stripe", subscriptionId).plan).toBe("starter");
    const events = await takeEvents();
    expect(events.map((event) => event.type)).toEqual(["customer.subscription.updated"]);
    expect(events[0]!.event.data.object.items.data[0].price.id).toBe("price_emulated_starter");
  });

  it("subscription_update_confirm asks to confirm the named price and applies it", async () => {
    const { customerId, subscriptionId } = await subscribe("stripe");
    const itemId = emulator.lifecycle.subscriptions.get("stripe", subscriptionId)!.itemId;
    const session = await stripe.billingPortal.sessions.create({
      customer: customerId,
      flow_data: {
        type: "subscription_update_confirm",
        subscription_update_confirm: { subscription: subscriptionId, items: [{ id: itemId, price: "price_emulated_starter" }] },
      },
    });
    expect(session.flow?.subscription_update_confirm).toEqual({
      subscription: subscriptionId,
      items: [{ id: itemId, price: "price_emulated_starter" }],
      discounts: [],
    });
    expect(await page(session.url)).toContain("New plan: Starter ($9 / month)");
    expect((await submit(session.url)).status).toBe(303);
    expect(subscription("stripe", subscriptionId).plan).toBe("starter");
  });

  it("refuses subscription_cancel without a subscription, with another customer's, or with an unknown one", async () => {
    const { customerId } = await subscribe("stripe");
    const { subscriptionId: someoneElses } = await subscribe("stripe");

    const absent = await refusal({ customer: customerId, flow_data: { type: "subscription_cancel" } });
    expect(absent).toMatchObject({ statusCode: 400, rawType: "invalid_request_error", code: "parameter_missing", param: "flow_data[subscription_cancel]" });

    const empty = await refusal({ customer: customerId, flow_data: { type: "subscription_cancel", subscription_cancel: { subscription: "" } } });
    expect(empty).toMatchObject({ statusCode: 400, code: "parameter_missing", param: "flow_data[subscription_cancel][subscription]" });

    const foreign = await refusal({ customer: customerId, flow_data: { type: "subscription_cancel", subscription_cancel: { subscription: someoneElses } } });
    expect(foreign).toMatchObject({ statusCode: 400, rawType: "invalid_request_error", param: "flow_data[subscription_cancel][subscription]" });

    const unknown = await refusal({ customer: customerId, flow_data: { type: "subscription_cancel", subscription_cancel: { subscription: "sub_DoesNotExist" } } });
    expect(unknown).toMatchObject({ statusCode: 400, code: "resource_missing", param: "flow_data[subscription_cancel][subscription]" });
    expect(unknown.message).toBe("No such subscription: 'sub_DoesNotExist'");

    expect(subscription("stripe", someoneElses).cancelAtPeriodEnd).toBe(false);
  });

  it("refuses the other malformed flows with the parameter at fault", async () => {
    const { customerId, subscriptionId } = await subscribe("stripe");
    const { subscriptionId: someoneElses } = await subscribe("stripe");
    const cases: [Stripe.BillingPortal.SessionCreateParams["flow_data"], string][] = [
      [{ type: "subscription_update" }, "flow_data[subscription_update]"],
      [{ type: "subscription_update", subscription_update: { subscription: someoneElses } }, "flow_data[subscription_update][subscription]"],
      [{ type: "subscription_update_confirm", subscription_update_confirm: { subscription: subscriptionId, items: [] } }, "flow_data[subscription_update_confirm][items]"],
      [
        { type: "subscription_update_confirm", subscription_update_confirm: { subscription: subscriptionId, items: [{ id: "si_NotThisOne" }] } },
        "flow_data[subscription_update_confirm][items][0][id]",
      ],
      [{ type: "payment_method_update", after_completion: { type: "redirect" } }, "flow_data[after_completion][redirect]"],
      [{ type: "payment_method_update", after_completion: { type: "redirect", redirect: { return_url: "not a url" } } }, "flow_data[after_completion][redirect][return_url]"],
      [{ type: "payment_method_update", subscription_cancel: { subscription: subscriptionId } }, "flow_data[subscription_cancel]"],
      [{ type: "open_everything" }, "flow_data[type]"],
    ];
    for (const [flow_data, param] of cases) {
      const error = await refusal({ customer: customerId, flow_data });
      expect({ type: flow_data?.type, statusCode: error.statusCode, param: error.param }).toEqual({ type: flow_data?.type, statusCode: 400, param });
    }
  });

  it("refuses an unknown locale, and shows auto in the browser's language", async () => {
    const { customerId } = await subscribe("stripe");
    const refused = await refusal({ customer: customerId, locale: "xx-YY" as Stripe.BillingPortal.SessionCreateParams.Locale });
    expect(refused).toMatchObject({ statusCode: 400, rawType: "invalid_request_error", param: "locale" });

    const session = await stripe.billingPortal.sessions.create({ customer: customerId, locale: "auto" });
    expect(session.locale).toBe("auto");
    const html = await page(session.url, { "accept-language": "pt-BR,pt;q=0.9,en;q=0.5" });
    expect(html).toContain('<html lang="pt-BR">');
    expect(html).toContain("Language: auto");
  });

  it("logs the flow_data and locale each session was created with, for app tests to assert", async () => {
    const session = await stripe.billingPortal.sessions.create({
      customer: "cus_DemoPastDue0001",
      flow_data: { type: "payment_method_update" },
      locale: "de",
    });
    expect(session.flow?.type).toBe("payment_method_update");
    const logged = await (await fetch(`${emulator.origin}/__emulator/requests?provider=stripe`)).json();
    expect(logged).toContainEqual(
      expect.objectContaining({
        path: "/v1/billing_portal/sessions",
        body: expect.objectContaining({ customer: "cus_DemoPastDue0001", "flow_data[type]": "payment_method_update", locale: "de" }),
      }),
    );
  });

  it("a deep link stops working when its session expires, and a guessed one never works", async () => {
    const { customerId, subscriptionId } = await subscribe("stripe");
    const session = await stripe.billingPortal.sessions.create({
      customer: customerId,
      flow_data: { type: "subscription_cancel", subscription_cancel: { subscription: subscriptionId } },
    });
    expect((await fetch(session.url.replace(/test_[^/]+/, "test_guessed"))).status).toBe(404);
    clockOffsetMs = DAY_MS;
    expect((await fetch(session.url)).status).toBe(410);
    expect((await submit(session.url)).status).toBe(410);
    expect(subscription("stripe", subscriptionId).cancelAtPeriodEnd).toBe(false);
  });
});

describe("Lemon Squeezy subscription URLs (getSubscription)", () => {
  it("answers the subscription with its attributes and three signed URLs on the emulator, valid 24 hours", async () => {
    const { customerId, subscriptionId } = await subscribe("lemonsqueezy");
    const { statusCode, data, error } = await getSubscription(subscriptionId);
    expect(error).toBeNull();
    expect(statusCode).toBe(200);
    expect(data!.links.self).toBe(`https://api.lemonsqueezy.com/v1/subscriptions/${subscriptionId}`);
    expect(data!.data).toMatchObject({ type: "subscriptions", id: subscriptionId });
    expect(data!.data.attributes).toMatchObject({
      status: "active",
      variant_id: 100002,
      customer_id: Number(customerId),
      cancelled: false,
      ends_at: null,
      card_brand: "visa",
      card_last_four: "4242",
    });
    expect(Date.parse(data!.data.attributes.renews_at)).toBeGreaterThan(Date.now());
    const { urls } = data!.data.attributes;
    for (const url of Object.values(urls)) {
      const parsed = new URL(url);
      expect(parsed.origin).toBe(emulator.origin);
      const expiresInMs = Number(parsed.searchParams.get("expires")) * 1000 - Date.now();
      expect(expiresInMs).toBeGreaterThan(DAY_MS - 60_000);
      expect(expiresInMs).toBeLessThanOrEqual(DAY_MS);
    }
    expect(urls.update_payment_method).toContain(`/subscription/${subscriptionId}/payment-details?`);
    expect(urls.customer_portal_update_subscription).toContain(`/billing/${subscriptionId}/update?`);
    expect(await page(urls.customer_portal)).toContain(`<code>${customerId}</code>`);
  });

  it("update_payment_method opens that subscription's card page, which recovers it from past due with the recovery events", async () => {
    const { customerId, subscriptionId } = await subscribe("lemonsqueezy");
    await failRenewal("lemonsqueezy", subscriptionId);
    const { data } = await getSubscription(subscriptionId);
    expect(data!.data.attributes.status).toBe("past_due");
    const url = data!.data.attributes.urls.update_payment_method;

    const html = await page(url);
    expect(html).toContain("Emulated Lemon Squeezy");
    expect(html).toContain(`<code>${customerId}</code>`);
    expect(html).toContain(`(<code>${subscriptionId}</code>) failed`);

    const updated = await submit(url, { card: "4242 4242 4242 4242" });
    expect(updated.status).toBe(303);
    const after = await page(new URL(updated.headers.get("location")!, url).href);
    expect(after).toContain("the overdue payment was made");
    expect(after).not.toContain('role="alert"');
    expect(subscription("lemonsqueezy", subscriptionId).status).toBe("active");
    const events = await takeEvents();
    expect(events.map((event) => event.type)).toEqual(["subscription_payment_success", "subscription_payment_recovered", "subscription_updated"]);
    expect(events[2]!.event.data).toMatchObject({ id: subscriptionId, attributes: { status: "active" } });
    // The webhook carries the same kind of signed links as the API (apps often store them from webhooks).
    expect(await page(events[2]!.event.data.attributes.urls.update_payment_method)).toContain(`<code>${subscriptionId}</code>`);
  });

  it("customer_portal_update_subscription switches the plan of that subscription only", async () => {
    const mine = await subscribe("lemonsqueezy");
    const theirs = await subscribe("lemonsqueezy");
    const url = (await getSubscription(mine.subscriptionId)).data!.data.attributes.urls.customer_portal_update_subscription;
    const html = await page(url);
    expect(html).toContain(`<code>${mine.subscriptionId}</code>`);
    expect(html).toContain("Switch to Starter ($9 / month)");

    expect((await submit(url, { plan: "starter" })).status).toBe(303);
    expect(subscription("lemonsqueezy", mine.subscriptionId).plan).toBe("starter");
    expect(subscription("lemonsqueezy", theirs.subscriptionId).plan).toBe("pro");
    const events = await takeEvents();
    expect(events.map((event) => event.type)).toEqual(["subscription_updated"]);
    expect(events[0]!.event.data.attributes.variant_id).toBe(100001);
  });

  it("refuses a URL whose signature was tampered with, moved to another subscription, or expired", async () => {
    const mine = await subscribe("lemonsqueezy");
    const theirs = await subscribe("lemonsqueezy");
    const url = new URL((await getSubscription(mine.subscriptionId)).data!.data.attributes.urls.update_payment_method);

    const tampered = new URL(url);
    const signature = tampered.searchParams.get("signature")!;
    tampered.searchParams.set("signature", `${signature.slice(0, -1)}${signature.endsWith("0") ? "1" : "0"}`);
    expect((await fetch(tampered)).status).toBe(403);
    expect((await submit(tampered.href)).status).toBe(403);

    const moved = new URL(url.href.replace(`/subscription/${mine.subscriptionId}/`, `/subscription/${theirs.subscriptionId}/`));
    expect((await fetch(moved)).status).toBe(403);
    const otherKind = new URL(url.href.replace(`/subscription/${mine.subscriptionId}/payment-details`, `/billing/${mine.subscriptionId}/update`));
    expect((await fetch(otherKind)).status).toBe(403);

    const extended = new URL(url);
    extended.searchParams.set("expires", String(Number(url.searchParams.get("expires")) + 3600));
    expect((await fetch(extended)).status).toBe(403);

    expect((await fetch(url)).status).toBe(200);
    clockOffsetMs = DAY_MS + 1000;
    expect((await fetch(url)).status).toBe(410);
    expect((await submit(url.href)).status).toBe(410);
    expect(await takeEvents()).toEqual([]);
  });

  it("answers an unknown subscription with Lemon Squeezy's 404 document, and includes the customer when asked", async () => {
    const missing = await getSubscription("999999999");
    expect(missing.statusCode).toBe(404);
    expect(missing.data).toMatchObject({ jsonapi: { version: "1.0" }, errors: [{ status: "404", title: "Not Found" }] });
    expect(missing.error?.name).toBe("Lemon Squeezy Error");

    const { customerId, subscriptionId } = await subscribe("lemonsqueezy");
    const withCustomer = await getSubscription(subscriptionId, { include: ["customer"] });
    expect(withCustomer.data).toMatchObject({ included: [{ type: "customers", id: customerId }] });
    expect((await getSubscription(subscriptionId, { include: ["store"] })).statusCode).toBe(400);
  });
});
