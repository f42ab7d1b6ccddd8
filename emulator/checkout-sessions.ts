import { randomBytes, randomUUID } from "node:crypto";
import { LRUCache } from "lru-cache";
import type { ProviderId } from "~/billing/providers/provider.ts";
import { LEMON_SQUEEZY_API_ORIGIN } from "./lemonsqueezy-routing.ts";
import { LEMON_SQUEEZY_STORE_ID, POLAR_SEAT_LIMITS, providerPlanId, type EmulatedPlan } from "./plans.ts";
import { POLAR_ORGANIZATION } from "./portal-pages.ts";
import type { Metadata } from "./subscriptions.ts";

/** A checkout opened through a provider's API, waiting for the buyer on the hosted page. */
export type CheckoutSession = {
  provider: ProviderId;
  /** Stripe `cs_test_…`, Polar UUID, Lemon Squeezy UUID. */
  id: string;
  /** The secret part of the hosted page's URL. */
  token: string;
  url: string;
  plan: EmulatedPlan;
  /** Stripe `client_reference_id`. */
  clientReferenceId: string | null;
  /** Stripe `customer`: an existing customer to subscribe. */
  customerId: string | null;
  email: string | null;
  /** Polar `external_customer_id`. */
  externalCustomerId: string | null;
  /** Stripe session `metadata` / Polar checkout `metadata`; stays on the checkout. */
  metadata: Metadata;
  /** What reaches the subscription (see EmulatedSubscription.metadata). */
  subscriptionMetadata: Metadata;
  successUrl: string | null;
  cancelUrl: string | null;
  createdAt: number;
  expiresAt: number;
  status: "open" | "complete" | "expired";
  subscriptionId: string | null;
  /** Lemon Squeezy order / Stripe invoice created by paying. */
  orderId: string | null;
  /** Seats bought: Stripe `line_items[0][quantity]`, Polar `seats`, Lemon Squeezy `variant_quantities`; 1 when none given. */
  quantity: number;
  /**
   * Days of free trial paying starts (0: none): Stripe `subscription_data.trial_period_days`; Polar the product's
   * trial, or the checkout's `trial_interval(_count)` override, none with `allow_trial: false`; Lemon Squeezy the
   * variant's, none with `checkout_options.skip_trial`.
   */
  trialDays: number;
};

/** Stripe and Lemon Squeezy checkouts live 24 hours; Polar's one hour. */
const CHECKOUT_TTL_MS: Record<ProviderId, number> = { stripe: 24 * 3_600_000, polar: 3_600_000, lemonsqueezy: 24 * 3_600_000 };
/** Open checkouts kept at once; the least recently used goes first, so abandoned ones cannot fill memory. */
const MAX_OPEN_CHECKOUTS = 10_000;

export class CheckoutSessions {
  readonly #byToken = new LRUCache<string, CheckoutSession>({ max: MAX_OPEN_CHECKOUTS });

  constructor(
    private readonly origin: string,
    private readonly now: () => number,
  ) {}

  open(
    provider: ProviderId,
    fields: Omit<CheckoutSession, "provider" | "id" | "token" | "url" | "createdAt" | "expiresAt" | "status" | "subscriptionId" | "orderId">,
  ): CheckoutSession {
    const id = provider === "stripe" ? `cs_test_${randomBytes(30).toString("base64url").replace(/[-_]/g, "0")}` : randomUUID();
    const token = provider === "polar" ? `polar_c_${randomBytes(24).toString("base64url")}` : id;
    const path = {
      stripe: `/checkout/stripe/c/pay/${token}`,
      polar: `/checkout/polar/${token}`,
      lemonsqueezy: `/checkout/lemonsqueezy/custom/${token}`,
    }[provider];
    const now = this.now();
    const session: CheckoutSession = {
      ...fields,
      provider,
      id,
      token,
      url: `${this.origin}${path}`,
      createdAt: now,
      expiresAt: now + CHECKOUT_TTL_MS[provider],
      status: "open",
      subscriptionId: null,
      orderId: null,
    };
    this.#byToken.set(`${provider}:${token}`, session);
    return session;
  }

  /** A session by its id (Stripe's id is also its page token; Polar's page token is its client secret), or undefined. */
  byId(provider: ProviderId, id: string): CheckoutSession | undefined {
    if (provider === "stripe") return this.#byToken.peek(`stripe:${id}`);
    if (provider !== "polar") return undefined;
    for (const session of this.#byToken.values()) if (session.provider === "polar" && session.id === id) return session;
    return undefined;
  }

  /** The session a hosted page path names, "expired", or undefined. */
  find(path: string): CheckoutSession | "expired" | undefined {
    const match = /^\/checkout\/(?:(stripe)\/c\/pay|(polar)|(lemonsqueezy)\/custom)\/([\w-]+)$/.exec(path);
    if (!match) return undefined;
    const provider = (match[1] ?? match[2] ?? match[3]) as ProviderId;
    const session = this.#byToken.get(`${provider}:${match[4]}`);
    if (!session) return undefined;
    return session.status === "expired" || (session.status === "open" && session.expiresAt <= this.now()) ? "expired" : session;
  }

  /** Stripe's open sessions of a customer, or of a buyer by email (`checkout.sessions.list` filters). */
  openStripeSessions(filter: { customer: string | null; email: string | null }): CheckoutSession[] {
    const open: CheckoutSession[] = [];
    for (const session of this.#byToken.values()) {
      if (session.provider !== "stripe" || session.status !== "open" || session.expiresAt <= this.now()) continue;
      if (filter.customer !== null && session.customerId !== filter.customer) continue;
      if (filter.email !== null && session.email !== filter.email) continue;
      open.push(session);
    }
    return open.toSorted((a, b) => b.createdAt - a.createdAt);
  }
}

export function unixSeconds(ms: number): number {
  return Math.floor(ms / 1000);
}

/** Stripe's `checkout.session` object. */
export function stripeCheckoutSession(session: CheckoutSession) {
  const complete = session.status === "complete";
  return {
    id: session.id,
    object: "checkout.session",
    allow_promotion_codes: null,
    amount_subtotal: session.plan.amount * session.quantity,
    amount_total: session.plan.amount * session.quantity,
    billing_address_collection: null,
    cancel_url: session.cancelUrl,
    client_reference_id: session.clientReferenceId,
    created: unixSeconds(session.createdAt),
    currency: session.plan.currency,
    customer: session.customerId,
    customer_creation: session.customerId ? null : "always",
    customer_details: complete ? { email: session.email, name: null, phone: null, tax_exempt: "none", tax_ids: [] } : null,
    customer_email: session.customerId ? null : session.email,
    expires_at: unixSeconds(session.expiresAt),
    invoice: complete ? session.orderId : null,
    livemode: false,
    locale: null,
    metadata: session.metadata,
    mode: "subscription",
    payment_intent: null,
    payment_method_types: ["card"],
    payment_status: complete ? "paid" : "unpaid",
    status: session.status,
    subscription: session.subscriptionId,
    success_url: session.successUrl,
    ui_mode: "hosted",
    url: complete ? null : session.url,
  };
}

/** Polar's `Checkout` object. */
export function polarCheckout(session: CheckoutSession) {
  const created = new Date(session.createdAt).toISOString();
  return {
    id: session.id,
    created_at: created,
    modified_at: null,
    custom_field_data: {},
    payment_processor: "stripe",
    status: session.status === "complete" ? "succeeded" : session.status,
    client_secret: session.token,
    url: session.url,
    expires_at: new Date(session.expiresAt).toISOString(),
    success_url: session.successUrl ?? `${new URL(session.url).origin}/checkout/polar/${session.token}/confirmation`,
    return_url: session.cancelUrl,
    embed_origin: null,
    amount: session.plan.amount * session.quantity,
    discount_amount: 0,
    net_amount: session.plan.amount * session.quantity,
    tax_amount: null,
    total_amount: session.plan.amount * session.quantity,
    seats: session.plan.perSeat ? session.quantity : null,
    currency: session.plan.currency,
    organization_id: POLAR_ORGANIZATION.id,
    product_id: session.plan.polarProductId,
    product_price_id: polarPriceId(session.plan),
    allow_trial: session.trialDays > 0,
    active_trial_interval: session.trialDays > 0 ? "day" : null,
    active_trial_interval_count: session.trialDays > 0 ? session.trialDays : null,
    trial_interval: session.trialDays > 0 ? "day" : null,
    trial_interval_count: session.trialDays > 0 ? session.trialDays : null,
    trial_end: null,
    discount_id: null,
    // Set once paid: the customer the checkout made or found.
    customer_id: session.status === "complete" ? session.customerId : null,
    customer_name: null,
    customer_email: session.email,
    external_customer_id: session.externalCustomerId,
    metadata: session.metadata,
    customer_metadata: {},
    // Polar sets this only when the checkout upgraded an existing (free) subscription; a new one carries
    // `checkout_id` instead (PROVIDERS.md §5.3).
    subscription_id: null,
    products: [polarProduct(session.plan)],
    product: polarProduct(session.plan),
  };
}

export function polarPriceId(plan: EmulatedPlan): string {
  return plan.polarProductId.replace(/a(\d{3})$/, "b$1");
}

/** The product's one price: fixed, or seat-based (`ProductPriceSeatBased`, one volume tier) for a per-seat plan. */
function polarPrice(plan: EmulatedPlan) {
  const common = {
    id: polarPriceId(plan),
    created_at: "2026-01-05T10:00:00Z",
    modified_at: null,
    source: "catalog",
    is_archived: false,
    product_id: plan.polarProductId,
    type: "recurring",
    recurring_interval: plan.interval,
    price_currency: plan.currency,
  };
  if (!plan.perSeat) return { ...common, amount_type: "fixed", price_amount: plan.amount };
  const { minimum, maximum } = POLAR_SEAT_LIMITS;
  return {
    ...common,
    amount_type: "seat_based",
    tax_behavior: null,
    seat_tiers: {
      seat_tier_type: "volume",
      tiers: [{ min_seats: minimum, max_seats: maximum, price_per_seat: plan.amount }],
      minimum_seats: minimum,
      maximum_seats: maximum,
    },
  };
}

/** Polar's `Product`, as embedded in checkouts and subscriptions. */
export function polarProduct(plan: EmulatedPlan) {
  return {
    id: plan.polarProductId,
    created_at: "2026-01-05T10:00:00Z",
    modified_at: null,
    trial_interval: plan.trialDays > 0 ? "day" : null,
    trial_interval_count: plan.trialDays > 0 ? plan.trialDays : null,
    name: plan.name,
    description: null,
    recurring_interval: plan.interval,
    recurring_interval_count: 1,
    is_recurring: true,
    is_archived: false,
    organization_id: POLAR_ORGANIZATION.id,
    metadata: {},
    prices: [polarPrice(plan)],
    benefits: [],
    medias: [],
    attached_custom_fields: [],
  };
}

/** Lemon Squeezy's checkout document (`POST /v1/checkouts` → 201). */
export function lemonSqueezyCheckoutDocument(session: CheckoutSession, productOptions: object, checkoutOptions: object) {
  const self = `${LEMON_SQUEEZY_API_ORIGIN}/v1/checkouts/${session.id}`;
  const relationship = (name: string) => ({ links: { related: `${self}/${name}`, self: `${self}/relationships/${name}` } });
  return {
    jsonapi: { version: "1.0" },
    links: { self },
    data: {
      type: "checkouts",
      id: session.id,
      attributes: {
        store_id: Number(LEMON_SQUEEZY_STORE_ID),
        variant_id: Number(providerPlanId("lemonsqueezy", session.plan)),
        custom_price: null,
        product_options: productOptions,
        checkout_options: checkoutOptions,
        checkout_data: {
          email: session.email ?? "",
          name: "",
          billing_address: [],
          tax_number: "",
          discount_code: "",
          custom: session.subscriptionMetadata,
          variant_quantities: session.quantity === 1 ? [] : [{ variant_id: Number(providerPlanId("lemonsqueezy", session.plan)), quantity: session.quantity }],
        },
        preview: false,
        expires_at: null,
        created_at: lemonSqueezyTime(session.createdAt),
        updated_at: lemonSqueezyTime(session.createdAt),
        test_mode: true,
        url: session.url,
      },
      relationships: { store: relationship("store"), variant: relationship("variant") },
      links: { self },
    },
  };
}

/** Lemon Squeezy writes times with microseconds: 2026-01-05T10:00:00.000000Z. */
export function lemonSqueezyTime(ms: number): string {
  return new Date(ms).toISOString().replace(/\.(\d{3})Z$/, ".$1000Z");
}
