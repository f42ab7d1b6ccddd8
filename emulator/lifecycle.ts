import { randomBytes, randomUUID } from "node:crypto";
import type { ProviderId } from "~/billing/providers/provider.ts";
import { checkoutErrorPage, checkoutPage, handleCheckoutApi, paidPage } from "./checkout.ts";
import { CheckoutSessions, type CheckoutSession } from "./checkout-sessions.ts";
import { addCustomer, findCustomer, findCustomerByEmail, findCustomerByExternalId, type EmulatedCustomer } from "./customers.ts";
import { handleCheckoutRetrieveApi } from "./checkout-retrieve.ts";
import { handleSeatsApi } from "./seats-api.ts";
import { demoSubscriptions } from "./demo-subscriptions.ts";
import { findPlan, EMULATED_PLANS } from "./plans.ts";
import { noticeFor, parsePortalAction, subscriptionPanel, type PortalActionRequest } from "./portal-actions.ts";
import { PAGE_HEADERS, type PortalPages, type PortalSession } from "./portal-pages.ts";
import { DAY_MS, MONTH_MS, SubscriptionStore, type EmulatedSubscription } from "./subscriptions.ts";
import { WebhookDelivery, type DeliveryRecord, type WebhookDeliveryOptions } from "./webhook-delivery.ts";
import { eventsFor, type EventContext, type LifecycleChange } from "./webhook-events.ts";
import type { WebhookSecrets } from "./webhook-signing.ts";
import type { EmulatorRequest, EmulatorResponse } from "./wire.ts";

export type LifecycleOptions = WebhookDeliveryOptions & {
  /**
   * How long a checkout or portal action waits for the app to answer the
   * first webhooks before the browser moves on (the rest is delivered in the
   * background): long enough that the app usually knows on arrival, short
   * enough that a slow app never holds the page.
   */
  waitForDeliveryMs?: number;
};

export type SubscriptionSummary = {
  provider: ProviderId;
  id: string;
  customerId: string;
  plan: EmulatedSubscription["plan"]["id"];
  status: EmulatedSubscription["status"];
  cancelAtPeriodEnd: boolean;
  /** Seats (Stripe's item quantity, Polar's seats, Lemon Squeezy's item quantity). */
  quantity: number;
  currentPeriodEnd: string;
  metadata: EmulatedSubscription["metadata"];
};

/** An event a change sent (its deliveries are in the delivery log under this event id). */
export type SentEvent = { id: string; type: string };

/** Why a lifecycle operation could not run; test controls answer it as a 4xx. */
export class LifecycleError extends Error {
  constructor(
    readonly status: 404 | 409,
    message: string,
  ) {
    super(message);
  }
}

const DEFAULT_WAIT_FOR_DELIVERY_MS = 3000;
let nextLemonSqueezyId = 700_000 + Math.floor(Math.random() * 100_000);

/**
 * The customer lifecycle at the emulated providers: checkouts that create
 * customers and subscriptions, portal actions that change them, renewals,
 * and the signed webhooks each change sends to the app.
 */
export class EmulatorLifecycle {
  readonly subscriptions: SubscriptionStore;
  readonly delivery: WebhookDelivery;
  readonly #checkouts: CheckoutSessions;
  readonly #waitMs: number;
  #portals!: PortalPages;
  #lemonSqueezySubscriptionUrls?: EventContext["lemonSqueezySubscriptionUrls"];

  constructor(
    origin: string,
    private readonly appReturnUrl: string,
    now: () => number,
    options: LifecycleOptions = {},
  ) {
    // Subscriptions and their events run on real time (the app checks webhook times against its own clock);
    // `now`, which tests move, only ages checkout links, as it ages portal links.
    this.subscriptions = new SubscriptionStore(Date.now);
    for (const subscription of demoSubscriptions(Date.now())) this.subscriptions.add(subscription);
    this.delivery = new WebhookDelivery(options);
    this.#checkouts = new CheckoutSessions(origin, now);
    this.#waitMs = options.waitForDeliveryMs ?? DEFAULT_WAIT_FOR_DELIVERY_MS;
  }

  /** The portal pages sign Lemon Squeezy's subscription URLs; they are created after the lifecycle (they render its panel). */
  attachPortals(portals: PortalPages): void {
    this.#portals = portals;
  }

  /** Lemon Squeezy's subscription events carry the same signed per-subscription URLs as its API (emulator/deep-links.ts). */
  attachLemonSqueezySubscriptionUrls(urls: NonNullable<EventContext["lemonSqueezySubscriptionUrls"]>): void {
    this.#lemonSqueezySubscriptionUrls = urls;
  }

  // ------------------------------------------------------------ wire entry points

  /** A provider API call this module answers (checkout creation, seat updates), else undefined. */
  handleApi(provider: ProviderId, request: EmulatorRequest): EmulatorResponse | undefined {
    return (
      // Seat updates first: the read handlers that follow answer a subscription's path whatever the method.
      handleSeatsApi(provider, request, this) ??
      handleCheckoutRetrieveApi(provider, request, this.#checkouts, this.subscriptions) ??
      handleCheckoutApi(provider, request, this.#checkouts)
    );
  }

  /**
   * Sets a subscription's seat count, as the provider's update call does: the answer goes back at once and the
   * provider's update webhook follows (in the background, as real providers send it). Unchanged: no event.
   */
  changeSeats(subscription: EmulatedSubscription, quantity: number): EmulatedSubscription {
    if (subscription.quantity === quantity) return subscription;
    const before = this.subscriptions.update(subscription, { quantity });
    const events = eventsFor(subscription, before, { kind: "seats-changed" }, this.#eventContext());
    void this.delivery.sendInOrder(events, 0);
    return subscription;
  }

  /** `GET|POST /checkout/...`: the hosted checkout page and its Pay button. */
  async handleCheckoutPage(request: EmulatorRequest): Promise<EmulatorResponse> {
    const session = this.#checkouts.find(request.path);
    if (session === "expired") return checkoutErrorPage(410, "This checkout has expired", this.appReturnUrl);
    if (!session) return checkoutErrorPage(404, "This checkout link is not valid", this.appReturnUrl);
    if (request.method === "GET") return checkoutPage(session, this.appReturnUrl);
    if (request.method !== "POST") return { status: 405, headers: { allow: "GET, POST" }, body: "Method Not Allowed" };
    if (session.status === "open") await this.#pay(session);
    // Paying twice (a double click, a reload) lands where the first payment did, and changes nothing.
    return session.successUrl === null ? paidPage(session, this.appReturnUrl) : redirect(successUrl(session));
  }

  /** `POST /portal/...`: one of the portal page's forms; answers by showing the page again. */
  async handlePortalAction(request: EmulatorRequest, session: PortalSession | "expired" | undefined): Promise<EmulatorResponse> {
    if (session === "expired" || session === undefined) {
      return { status: session ? 410 : 404, headers: PAGE_HEADERS, body: "This portal link is no longer valid." };
    }
    let action: PortalActionRequest;
    try {
      action = parsePortalAction(Object.fromEntries(new URLSearchParams(request.rawBody)));
    } catch (error) {
      return { status: 400, headers: PAGE_HEADERS, body: (error as Error).message };
    }
    const subscription = this.subscriptions.forCustomer(session.provider, session.customer.id);
    if (!subscription) return { status: 409, headers: PAGE_HEADERS, body: "This customer has no subscription." };
    const outcome = await this.act(session.provider, subscription.id, action);
    const query = new URLSearchParams(request.query);
    query.set("notice", noticeFor(action.action, outcome));
    return redirect(`${request.path}?${query}`);
  }

  /** The subscription section of a portal page. */
  portalPanel(session: PortalSession, request: EmulatorRequest): string {
    return subscriptionPanel(this.subscriptions.forCustomer(session.provider, session.customer.id), request.query.get("notice"));
  }

  // ------------------------------------------------------------ operations (also the test controls)

  registerWebhooks(url: string, secrets?: Partial<WebhookSecrets>): WebhookSecrets {
    return this.delivery.register(url, secrets);
  }

  /**
   * A portal action; resolves after its events' first delivery attempts (or the wait bound). `silent`: the change
   * is made and no event is sent, as a change in the provider's dashboard whose webhook was lost.
   */
  async act(
    provider: ProviderId,
    subscriptionId: string,
    request: PortalActionRequest,
    options: { silent?: boolean } = {},
  ): Promise<"changed" | "unchanged" | "recovered"> {
    const planned = this.#plan(this.#subscription(provider, subscriptionId), request);
    if (!planned) return "unchanged";
    if (options.silent) this.subscriptions.update(planned.subscription, planned.patch);
    else await this.#apply(planned.subscription, planned.change, planned.patch);
    return planned.change.kind === "payment-recovered" ? "recovered" : "changed";
  }

  /** Runs the subscription's renewal now: paid (a new period) or failed (the new period starts past_due). */
  async renew(provider: ProviderId, subscriptionId: string, outcome: "paid" | "failed"): Promise<SentEvent[]> {
    const subscription = this.#subscription(provider, subscriptionId);
    if (subscription.cancelAtPeriodEnd) throw new LifecycleError(409, "This subscription ends at the period end: it does not renew");
    const patch = {
      currentPeriodStart: subscription.currentPeriodEnd,
      currentPeriodEnd: subscription.currentPeriodEnd + MONTH_MS,
      status: outcome === "paid" ? ("active" as const) : ("past_due" as const),
    };
    return this.#apply(subscription, { kind: outcome === "paid" ? "renewed" : "renewal-failed" }, patch);
  }

  /** Applies an action but delivers its events first and then a fresh event carrying the older state, as a late delivery would. */
  async outOfOrder(provider: ProviderId, subscriptionId: string, request: PortalActionRequest): Promise<DeliveryRecord[]> {
    const planned = this.#plan(this.#subscription(provider, subscriptionId), request);
    if (!planned) throw new LifecycleError(409, `"${request.action}" would change nothing on this subscription`);
    const { subscription, change, patch } = planned;
    const before = this.subscriptions.update(subscription, patch);
    const newer = eventsFor(subscription, before, change, this.#eventContext());
    const older = eventsFor(before, before, { kind: "snapshot" }, this.#eventContext());
    const records: DeliveryRecord[] = [];
    for (const event of [...newer, ...older]) records.push(await this.delivery.send(event));
    return records;
  }

  /** Sends the subscription's current state signed with a wrong secret. */
  async badSignature(provider: ProviderId, subscriptionId: string): Promise<DeliveryRecord[]> {
    const subscription = this.#subscription(provider, subscriptionId);
    const events = eventsFor(subscription, subscription, { kind: "snapshot" }, this.#eventContext());
    return Promise.all(events.map((event) => this.delivery.send(event, { badSignature: true })));
  }

  summaries(provider?: ProviderId): SubscriptionSummary[] {
    return this.subscriptions.list(provider).map((subscription) => ({
      provider: subscription.provider,
      id: subscription.id,
      customerId: subscription.customer.id,
      plan: subscription.plan.id,
      status: subscription.status,
      cancelAtPeriodEnd: subscription.cancelAtPeriodEnd,
      quantity: subscription.quantity,
      currentPeriodEnd: new Date(subscription.currentPeriodEnd).toISOString(),
      metadata: structuredClone(subscription.metadata),
    }));
  }

  close(): void {
    this.delivery.close();
  }

  // ------------------------------------------------------------ internals

  #subscription(provider: ProviderId, id: string): EmulatedSubscription {
    const subscription = this.subscriptions.get(provider, id);
    if (!subscription) throw new LifecycleError(404, `No ${provider} subscription "${id}"`);
    return subscription;
  }

  /** What an action would change, or undefined when it changes nothing (cancelling twice, switching to the same plan). */
  #plan(subscription: EmulatedSubscription, request: PortalActionRequest) {
    const planned = (change: LifecycleChange, patch: Partial<EmulatedSubscription>) => ({ subscription, change, patch });
    switch (request.action) {
      case "cancel":
        return subscription.cancelAtPeriodEnd ? undefined : planned({ kind: "canceled" }, { cancelAtPeriodEnd: true, canceledAt: Date.now() });
      case "resume":
        return subscription.cancelAtPeriodEnd ? planned({ kind: "resumed" }, { cancelAtPeriodEnd: false, canceledAt: null }) : undefined;
      case "switch_plan": {
        const plan = request.plan ? findPlan(request.plan)! : EMULATED_PLANS.find((candidate) => candidate.id !== subscription.plan.id && !candidate.perSeat)!;
        return plan.id === subscription.plan.id ? undefined : planned({ kind: "plan-changed" }, { plan });
      }
      case "update_card": {
        const card = { brand: "visa", lastFour: "4242" };
        // Stripe and the others retry the overdue invoice with the new card at once.
        return subscription.status === "past_due"
          ? planned({ kind: "payment-recovered" }, { card, status: "active" })
          : planned({ kind: "card-updated" }, { card });
      }
    }
  }

  async #apply(subscription: EmulatedSubscription, change: LifecycleChange, patch: Partial<EmulatedSubscription>): Promise<SentEvent[]> {
    const before = this.subscriptions.update(subscription, patch);
    const events = eventsFor(subscription, before, change, this.#eventContext());
    await this.delivery.sendInOrder(events, this.#waitMs);
    return events.map(({ id, type }) => ({ id, type }));
  }

  async #pay(session: CheckoutSession): Promise<void> {
    const customer = this.#customerFor(session);
    const now = Date.now();
    // A trial: the subscription is trialing and its first period (the trial) ends when the trial does.
    const trialEnd = session.trialDays > 0 ? now + session.trialDays * DAY_MS : null;
    const subscription = this.subscriptions.add({
      provider: session.provider,
      id: newId(session.provider, "sub"),
      customer,
      metadata: { ...session.subscriptionMetadata },
      plan: session.plan,
      status: trialEnd === null ? "active" : "trialing",
      cancelAtPeriodEnd: false,
      createdAt: now,
      currentPeriodStart: now,
      currentPeriodEnd: trialEnd ?? now + MONTH_MS,
      canceledAt: null,
      trialStart: trialEnd === null ? null : now,
      trialEnd,
      updatedAt: now,
      card: { brand: "visa", lastFour: "4242" },
      checkoutId: session.id,
      orderId: session.provider === "lemonsqueezy" ? newId("lemonsqueezy", "order") : null,
      itemId: newId(session.provider, "item"),
      quantity: session.quantity,
    });
    Object.assign(session, { status: "complete", subscriptionId: subscription.id, customerId: customer.id, orderId: subscription.orderId });
    if (session.email === null) session.email = customer.email;
    const events = eventsFor(subscription, subscription, { kind: "checkout-completed", checkout: session }, this.#eventContext());
    await this.delivery.sendInOrder(events, this.#waitMs);
  }

  /** The customer a payment belongs to: the one named, the one with that external id or email, else a new one. */
  #customerFor(session: CheckoutSession): EmulatedCustomer {
    const email = session.email ?? "buyer@emulator.test";
    const existing =
      session.provider === "stripe" && session.customerId !== null
        ? findCustomer("stripe", session.customerId)
        : session.provider === "polar" && session.externalCustomerId !== null
          ? findCustomerByExternalId("polar", session.externalCustomerId)
          : session.provider === "lemonsqueezy"
            ? findCustomerByEmail("lemonsqueezy", email)
            : undefined;
    if (existing) return existing;
    const customer: EmulatedCustomer = {
      provider: session.provider,
      id: newId(session.provider, "customer"),
      name: email.split("@")[0]!,
      email,
      portal: "ready",
      ...(session.externalCustomerId === null ? {} : { externalId: session.externalCustomerId }),
    };
    addCustomer(customer);
    return customer;
  }

  /** What the providers' subscription payloads need from the portal pages (signed Lemon Squeezy URLs). */
  eventContext(): EventContext {
    return this.#eventContext();
  }

  #eventContext(): EventContext {
    return {
      lemonSqueezyPortalUrl: (subscription: EmulatedSubscription) => this.#portals.signLemonSqueezyUrl(subscription.customer).url,
      lemonSqueezySubscriptionUrls: this.#lemonSqueezySubscriptionUrls,
    };
  }
}

/** Ids in each provider's own shape: Stripe prefixed, Polar UUIDs, Lemon Squeezy numbers. */
function newId(provider: ProviderId, kind: "sub" | "customer" | "item" | "order"): string {
  if (provider === "lemonsqueezy") return String(++nextLemonSqueezyId);
  if (provider === "polar") return randomUUID();
  const prefix = { sub: "sub", customer: "cus", item: "si", order: "in" }[kind];
  return `${prefix}_${randomBytes(18).toString("base64url").replace(/[-_]/g, "0")}`;
}

/**
 * Stripe and Polar fill the checkout id into a success URL that asks for it; Lemon Squeezy fills its link variables
 * (`[order_id]`: PROVIDERS.md §5.3 says whether it does so for an API-set redirect is unconfirmed; the emulator
 * does, and the app reads a literal `[order_id]` as no reference).
 */
function successUrl(session: CheckoutSession): string {
  if (session.provider === "lemonsqueezy") return session.successUrl!.replaceAll("[order_id]", session.orderId ?? "");
  const template = session.provider === "stripe" ? "{CHECKOUT_SESSION_ID}" : "{CHECKOUT_ID}";
  return session.successUrl!.replaceAll(template, session.id);
}

function redirect(location: string): EmulatorResponse {
  return { status: 303, headers: { location, "cache-control": "no-store", "referrer-policy": "no-referrer" }, body: "" };
}
