import { randomBytes, randomUUID } from "node:crypto";
import { Stripe } from "stripe";
import {
  lemonSqueezyTime,
  polarPriceId,
  polarProduct,
  stripeCheckoutSession,
  unixSeconds,
  type CheckoutSession,
} from "./checkout-sessions.ts";
import { LEMON_SQUEEZY_API_ORIGIN } from "./lemonsqueezy-routing.ts";
import { LEMON_SQUEEZY_STORE_ID } from "./plans.ts";
import { polarCustomer } from "./polar-api.ts";
import type { LemonSqueezySubscriptionUrls } from "./deep-links.ts";
import type { EmulatedSubscription } from "./subscriptions.ts";
import type { OutgoingEvent } from "./webhook-delivery.ts";

/** What happened to a subscription; each provider names and shapes the events for it its own way. */
export type LifecycleChange =
  | { kind: "checkout-completed"; checkout: CheckoutSession }
  | { kind: "canceled" }
  | { kind: "resumed" }
  | { kind: "plan-changed" }
  | { kind: "card-updated" }
  | { kind: "payment-recovered" }
  | { kind: "renewal-failed" }
  | { kind: "renewed" }
  /** The seat count changed through the provider's API (Stripe item quantity, Polar seats, Lemon Squeezy item quantity). */
  | { kind: "seats-changed" }
  /** Just the subscription's state, as an "updated" event (for out-of-order and bad-signature deliveries). */
  | { kind: "snapshot" };

export type EventContext = {
  /** Lemon Squeezy's signed portal URL for the customer (its subscription `urls`). */
  lemonSqueezyPortalUrl: (subscription: EmulatedSubscription) => string;
  /** Lemon Squeezy's signed per-subscription `urls` (emulator/deep-links.ts); without it they point into the portal home. */
  lemonSqueezySubscriptionUrls?: (subscription: EmulatedSubscription) => LemonSqueezySubscriptionUrls;
};

/** The provider's webhook events for a change, in the order the emulator sends them; `before` is the state before it. */
export function eventsFor(
  after: EmulatedSubscription,
  before: EmulatedSubscription,
  change: LifecycleChange,
  context: EventContext,
): OutgoingEvent[] {
  if (after.provider === "stripe") return stripeEvents(after, before, change);
  if (after.provider === "polar") return polarEvents(after, change);
  return lemonSqueezyEvents(after, change, context);
}

// ---------------------------------------------------------------- Stripe

function stripeEvents(after: EmulatedSubscription, before: EmulatedSubscription, change: LifecycleChange): OutgoingEvent[] {
  const updated = () => stripeEvent(after, "customer.subscription.updated", stripeSubscription(after), changedFields(stripeSubscription(before), stripeSubscription(after)));
  switch (change.kind) {
    case "checkout-completed":
      return [
        stripeEvent(after, "customer.subscription.created", stripeSubscription(after)),
        stripeEvent(after, "invoice.paid", stripeInvoice(after, "paid", "subscription_create")),
        stripeEvent(after, "checkout.session.completed", stripeCheckoutSession(change.checkout)),
      ];
    case "renewal-failed":
      return [stripeEvent(after, "invoice.payment_failed", stripeInvoice(after, "open", "subscription_cycle")), updated()];
    case "renewed":
      return [stripeEvent(after, "invoice.paid", stripeInvoice(after, "paid", "subscription_cycle")), updated()];
    case "payment-recovered":
      return [stripeEvent(after, "invoice.paid", stripeInvoice(after, "paid", "subscription_cycle")), updated()];
    default:
      return [updated()];
  }
}

function stripeEvent(subscription: EmulatedSubscription, type: string, object: object, previous?: object): OutgoingEvent {
  const id = `evt_${randomBytes(18).toString("base64url").replace(/[-_]/g, "0")}`;
  const body = {
    id,
    object: "event",
    api_version: Stripe.API_VERSION,
    created: unixSeconds(subscription.updatedAt),
    data: { object, ...(previous ? { previous_attributes: previous } : {}) },
    livemode: false,
    pending_webhooks: 1,
    request: { id: null, idempotency_key: null },
    type,
  };
  return { provider: "stripe", id, type, body: JSON.stringify(body), subscriptionId: subscription.id };
}

/** Stripe's `subscription` object (API 2025+ shape: the period lives on the item). */
export function stripeSubscription(subscription: EmulatedSubscription) {
  const { plan } = subscription;
  const periodStart = unixSeconds(subscription.currentPeriodStart);
  const periodEnd = unixSeconds(subscription.currentPeriodEnd);
  return {
    id: subscription.id,
    object: "subscription",
    application: null,
    billing_cycle_anchor: unixSeconds(subscription.createdAt),
    cancel_at: subscription.cancelAtPeriodEnd ? periodEnd : null,
    cancel_at_period_end: subscription.cancelAtPeriodEnd,
    canceled_at: subscription.canceledAt === null ? null : unixSeconds(subscription.canceledAt),
    cancellation_details: {
      comment: null,
      feedback: null,
      reason: subscription.cancelAtPeriodEnd ? "cancellation_requested" : null,
    },
    collection_method: "charge_automatically",
    created: unixSeconds(subscription.createdAt),
    currency: plan.currency,
    customer: subscription.customer.id,
    default_payment_method: `pm_emulated_${subscription.card.lastFour}`,
    description: null,
    ended_at: null,
    items: {
      object: "list",
      data: [
        {
          id: subscription.itemId,
          object: "subscription_item",
          created: unixSeconds(subscription.createdAt),
          current_period_end: periodEnd,
          current_period_start: periodStart,
          metadata: {},
          price: {
            id: plan.stripePriceId,
            object: "price",
            active: true,
            billing_scheme: "per_unit",
            currency: plan.currency,
            livemode: false,
            lookup_key: plan.id,
            nickname: plan.name,
            product: `prod_emulated_${plan.id}`,
            recurring: { interval: plan.interval, interval_count: 1, usage_type: "licensed" },
            type: "recurring",
            unit_amount: plan.amount,
          },
          quantity: subscription.quantity,
          subscription: subscription.id,
        },
      ],
      has_more: false,
      total_count: 1,
      url: `/v1/subscription_items?subscription=${subscription.id}`,
    },
    latest_invoice: invoiceId(subscription),
    livemode: false,
    metadata: subscription.metadata,
    start_date: unixSeconds(subscription.createdAt),
    status: subscription.status,
    // Stripe keeps the trial's dates on the subscription after it converts.
    trial_end: subscription.trialEnd == null ? null : unixSeconds(subscription.trialEnd),
    trial_start: subscription.trialStart == null ? null : unixSeconds(subscription.trialStart),
  };
}

export function stripeInvoice(subscription: EmulatedSubscription, status: "paid" | "open", billingReason: string) {
  const paid = status === "paid";
  const amount = subscription.plan.amount;
  return {
    id: invoiceId(subscription),
    object: "invoice",
    amount_due: amount,
    amount_paid: paid ? amount : 0,
    amount_remaining: paid ? 0 : amount,
    attempt_count: 1,
    attempted: true,
    billing_reason: billingReason,
    collection_method: "charge_automatically",
    created: unixSeconds(subscription.updatedAt),
    currency: subscription.plan.currency,
    customer: subscription.customer.id,
    customer_email: subscription.customer.email,
    hosted_invoice_url: null,
    livemode: false,
    next_payment_attempt: paid ? null : unixSeconds(subscription.updatedAt) + 3 * 86_400,
    parent: {
      type: "subscription_details",
      quote_details: null,
      subscription_details: { metadata: subscription.metadata, subscription: subscription.id },
    },
    period_end: unixSeconds(subscription.currentPeriodStart),
    period_start: unixSeconds(subscription.currentPeriodStart),
    status,
    total: amount,
  };
}

/** One invoice per billing period. */
function invoiceId(subscription: EmulatedSubscription): string {
  return `in_${subscription.id.replace(/^sub_/, "")}_${unixSeconds(subscription.currentPeriodStart)}`;
}

/** Stripe's `previous_attributes`: the old values of the top-level fields that changed. */
function changedFields(before: Record<string, unknown>, after: Record<string, unknown>): Record<string, unknown> {
  const changed: Record<string, unknown> = {};
  for (const [name, value] of Object.entries(before)) {
    if (JSON.stringify(value) !== JSON.stringify(after[name])) changed[name] = value;
  }
  return changed;
}

// ---------------------------------------------------------------- Polar

function polarEvents(after: EmulatedSubscription, change: LifecycleChange): OutgoingEvent[] {
  const types: Record<LifecycleChange["kind"], string[]> = {
    "checkout-completed": ["subscription.created", "subscription.active"],
    canceled: ["subscription.updated", "subscription.canceled"],
    resumed: ["subscription.updated", "subscription.uncanceled"],
    "plan-changed": ["subscription.updated"],
    "card-updated": ["subscription.updated"],
    "payment-recovered": ["subscription.updated", "subscription.active"],
    "renewal-failed": ["subscription.updated", "subscription.past_due"],
    renewed: ["subscription.cycled", "subscription.updated"],
    snapshot: ["subscription.updated"],
    // A new count arrives as the catch-all `subscription.updated` (PROVIDERS.md §5.4).
    "seats-changed": ["subscription.updated"],
  };
  // A checkout that starts a trial makes a trialing subscription: Polar sends no `subscription.active` for it.
  const kinds = change.kind === "checkout-completed" && after.status === "trialing" ? ["subscription.created", "subscription.updated"] : types[change.kind];
  return kinds.map((type) => {
    // Standard Webhooks message id; Polar's payload itself has no id.
    const id = `msg_${randomBytes(18).toString("base64url")}`;
    const body = {
      type,
      timestamp: new Date(after.updatedAt).toISOString(),
      api_version: "2026-10",
      data: polarSubscription(after),
    };
    return { provider: "polar", id, type, body: JSON.stringify(body), subscriptionId: after.id } satisfies OutgoingEvent;
  });
}

/** Polar's `Subscription`, with the customer (and its `external_id`) embedded. */
export function polarSubscription(subscription: EmulatedSubscription) {
  const { plan } = subscription;
  return {
    created_at: iso(subscription.createdAt),
    modified_at: iso(subscription.updatedAt),
    id: subscription.id,
    amount: plan.amount * subscription.quantity,
    currency: plan.currency,
    recurring_interval: plan.interval,
    recurring_interval_count: 1,
    status: subscription.status,
    current_period_start: iso(subscription.currentPeriodStart),
    current_period_end: iso(subscription.currentPeriodEnd),
    current_meter_period_start: null,
    current_meter_period_end: null,
    trial_start: iso(subscription.trialStart ?? null),
    trial_end: iso(subscription.trialEnd ?? null),
    cancel_at_period_end: subscription.cancelAtPeriodEnd,
    canceled_at: iso(subscription.canceledAt),
    started_at: iso(subscription.createdAt),
    ends_at: subscription.cancelAtPeriodEnd ? iso(subscription.currentPeriodEnd) : null,
    ended_at: null,
    past_due_at: subscription.status === "past_due" ? iso(subscription.currentPeriodStart) : null,
    pause_at_period_end: false,
    paused_at: null,
    resumes_at: null,
    customer_id: subscription.customer.id,
    product_id: plan.polarProductId,
    discount_id: null,
    checkout_id: subscription.checkoutId,
    // Seat-based products carry the count; other products neither field.
    seats: plan.perSeat ? subscription.quantity : null,
    units: null,
    customer_cancellation_reason: null,
    customer_cancellation_comment: null,
    metadata: subscription.metadata,
    custom_field_data: {},
    customer: polarCustomer(subscription.customer),
    product: polarProduct(plan),
    discount: null,
    prices: polarProduct(plan).prices.filter((price) => price.id === polarPriceId(plan)),
    meters: [],
    pending_update: null,
  };
}

function iso(ms: number | null): string | null {
  return ms === null ? null : new Date(ms).toISOString();
}

// ---------------------------------------------------------------- Lemon Squeezy

/** The one product both emulated variants belong to. */
const LEMON_SQUEEZY_PRODUCT_ID = 200001;

function lemonSqueezyEvents(after: EmulatedSubscription, change: LifecycleChange, context: EventContext): OutgoingEvent[] {
  const subscription = (name: string) => lemonSqueezyEvent(after, name, lemonSqueezySubscription(after, context));
  const invoice = (name: string, status: "paid" | "pending", reason: "initial" | "renewal") =>
    lemonSqueezyEvent(after, name, lemonSqueezyInvoice(after, status, reason));
  switch (change.kind) {
    case "checkout-completed":
      return [
        lemonSqueezyEvent(after, "order_created", lemonSqueezyOrder(after)),
        subscription("subscription_created"),
        invoice("subscription_payment_success", "paid", "initial"),
      ];
    case "canceled":
      return [subscription("subscription_cancelled"), subscription("subscription_updated")];
    case "resumed":
      return [subscription("subscription_resumed"), subscription("subscription_updated")];
    case "renewal-failed":
      return [invoice("subscription_payment_failed", "pending", "renewal"), subscription("subscription_updated")];
    case "renewed":
      return [invoice("subscription_payment_success", "paid", "renewal"), subscription("subscription_updated")];
    case "payment-recovered":
      return [
        invoice("subscription_payment_success", "paid", "renewal"),
        invoice("subscription_payment_recovered", "paid", "renewal"),
        subscription("subscription_updated"),
      ];
    default:
      return [subscription("subscription_updated")];
  }
}

function lemonSqueezyEvent(subscription: EmulatedSubscription, eventName: string, data: object): OutgoingEvent {
  // Lemon Squeezy sends no event id; the emulator's own id only names the event in its delivery log.
  const id = `ls_${randomUUID()}`;
  const custom = Object.keys(subscription.metadata).length > 0 ? { custom_data: subscription.metadata } : {};
  const body = { meta: { test_mode: true, event_name: eventName, webhook_id: WEBHOOK_ID, ...custom }, data };
  return { provider: "lemonsqueezy", id, type: eventName, body: JSON.stringify(body), subscriptionId: subscription.id };
}

const WEBHOOK_ID = randomUUID();

function jsonApiResource(type: string, id: string, attributes: object, relationships: string[]) {
  const self = `${LEMON_SQUEEZY_API_ORIGIN}/v1/${type}/${id}`;
  return {
    type,
    id,
    attributes,
    relationships: Object.fromEntries(
      relationships.map((name) => [name, { links: { related: `${self}/${name}`, self: `${self}/relationships/${name}` } }]),
    ),
    links: { self },
  };
}

function lemonSqueezyStatus(subscription: EmulatedSubscription): string {
  if (subscription.cancelAtPeriodEnd) return "cancelled";
  return subscription.status === "trialing" ? "on_trial" : subscription.status;
}

/** Lemon Squeezy's `subscriptions` resource. */
export function lemonSqueezySubscription(subscription: EmulatedSubscription, context: EventContext) {
  const status = lemonSqueezyStatus(subscription);
  const portal = context.lemonSqueezyPortalUrl(subscription);
  return jsonApiResource(
    "subscriptions",
    subscription.id,
    {
      store_id: Number(LEMON_SQUEEZY_STORE_ID),
      customer_id: Number(subscription.customer.id),
      order_id: Number(subscription.orderId ?? 0),
      order_item_id: Number(subscription.orderId ?? 0),
      product_id: LEMON_SQUEEZY_PRODUCT_ID,
      variant_id: Number(subscription.plan.lemonSqueezyVariantId),
      product_name: "PortalStack",
      variant_name: subscription.plan.name,
      user_name: subscription.customer.name,
      user_email: subscription.customer.email,
      status,
      status_formatted: status === "past_due" ? "Past due" : status === "on_trial" ? "On Trial" : status[0]!.toUpperCase() + status.slice(1),
      card_brand: subscription.card.brand,
      card_last_four: subscription.card.lastFour,
      payment_processor: "stripe",
      pause: null,
      cancelled: subscription.cancelAtPeriodEnd,
      // Only while on trial (PROVIDERS.md §5.2).
      trial_ends_at: status === "on_trial" && subscription.trialEnd != null ? lemonSqueezyTime(subscription.trialEnd) : null,
      billing_anchor: new Date(subscription.createdAt).getUTCDate(),
      // Null during a free trial (PROVIDERS.md §5.2, a trap for quantity readers).
      first_subscription_item: status === "on_trial" ? null : { id: Number(subscription.itemId), ...lemonSqueezyItemAttributes(subscription) },
      urls: context.lemonSqueezySubscriptionUrls?.(subscription) ?? {
        // Deep links into the same signed page; the fragment picks the section.
        update_payment_method: `${portal}#update-card`,
        customer_portal: portal,
        customer_portal_update_subscription: `${portal}#change-plan`,
      },
      renews_at: lemonSqueezyTime(subscription.currentPeriodEnd),
      ends_at: subscription.cancelAtPeriodEnd ? lemonSqueezyTime(subscription.currentPeriodEnd) : null,
      created_at: lemonSqueezyTime(subscription.createdAt),
      updated_at: lemonSqueezyTime(subscription.updatedAt),
      test_mode: true,
    },
    ["store", "customer", "order", "order-item", "product", "variant", "subscription-items", "subscription-invoices"],
  );
}

/** A subscription item's attributes (`first_subscription_item` and the `subscription-items` resource). */
function lemonSqueezyItemAttributes(subscription: EmulatedSubscription) {
  return {
    subscription_id: Number(subscription.id),
    price_id: Number(subscription.plan.lemonSqueezyVariantId) + 100_000,
    quantity: subscription.quantity,
    is_usage_based: false,
    created_at: lemonSqueezyTime(subscription.createdAt),
    updated_at: lemonSqueezyTime(subscription.updatedAt),
  };
}

/** Lemon Squeezy's `subscription-items` resource (`GET|PATCH /v1/subscription-items/:id`). */
export function lemonSqueezySubscriptionItem(subscription: EmulatedSubscription) {
  return jsonApiResource("subscription-items", subscription.itemId, lemonSqueezyItemAttributes(subscription), ["subscription", "price", "usage-records"]);
}

/** Lemon Squeezy's `orders` resource for the order that started the subscription. */
export function lemonSqueezyOrder(subscription: EmulatedSubscription) {
  const { plan } = subscription;
  const orderId = subscription.orderId ?? "0";
  return jsonApiResource(
    "orders",
    orderId,
    {
      store_id: Number(LEMON_SQUEEZY_STORE_ID),
      customer_id: Number(subscription.customer.id),
      identifier: randomUUID(),
      order_number: Number(orderId),
      user_name: subscription.customer.name,
      user_email: subscription.customer.email,
      currency: plan.currency.toUpperCase(),
      subtotal: plan.amount,
      total: plan.amount,
      status: "paid",
      status_formatted: "Paid",
      refunded: false,
      first_order_item: {
        id: Number(orderId),
        order_id: Number(orderId),
        product_id: LEMON_SQUEEZY_PRODUCT_ID,
        variant_id: Number(plan.lemonSqueezyVariantId),
        product_name: "PortalStack",
        variant_name: plan.name,
        price: plan.amount * subscription.quantity,
        quantity: subscription.quantity,
        test_mode: true,
      },
      urls: { receipt: null },
      created_at: lemonSqueezyTime(subscription.createdAt),
      updated_at: lemonSqueezyTime(subscription.updatedAt),
      test_mode: true,
    },
    ["store", "customer", "order-items", "subscriptions", "license-keys", "discount-redemptions"],
  );
}

/** Lemon Squeezy's `subscription-invoices` resource for the subscription's current period. */
export function lemonSqueezyInvoice(subscription: EmulatedSubscription, status: "paid" | "pending", reason: "initial" | "renewal") {
  const { plan } = subscription;
  return jsonApiResource(
    "subscription-invoices",
    `${subscription.id}${unixSeconds(subscription.currentPeriodStart)}`,
    {
      store_id: Number(LEMON_SQUEEZY_STORE_ID),
      subscription_id: Number(subscription.id),
      customer_id: Number(subscription.customer.id),
      user_name: subscription.customer.name,
      user_email: subscription.customer.email,
      billing_reason: reason,
      card_brand: subscription.card.brand,
      card_last_four: subscription.card.lastFour,
      currency: plan.currency.toUpperCase(),
      status,
      status_formatted: status === "paid" ? "Paid" : "Pending",
      refunded: false,
      subtotal: plan.amount,
      total: plan.amount,
      urls: { invoice_url: null },
      created_at: lemonSqueezyTime(subscription.updatedAt),
      updated_at: lemonSqueezyTime(subscription.updatedAt),
      test_mode: true,
    },
    ["store", "subscription", "customer"],
  );
}
