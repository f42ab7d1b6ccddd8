import { PolarClientError, PolarNetworkError, PolarRateLimitError, PolarServerError } from "@polar-sh/sdk";
import { createPolar, errors, webhooks, type models } from "@polar-sh/sdk/2026-10";
import { z } from "zod";
import { DEMO_PLAN_PROVIDER_IDS } from "~/billing/plans.ts";
import type { SubscriptionStatus } from "~/billing/subscription-status.ts";
import { emptyAsUndefined, optionalMatching, optionalString, planSettings, planVariable, planVariables } from "~/config/env-fields.ts";
import { isPortalUrl } from "./portal-url.ts";
import { ProviderError } from "./provider-error.ts";
import { listedSubscriptions, observedNow } from "./listed-subscriptions.ts";
import type {
  BillingEvent,
  BillingProvider,
  CheckoutRequest,
  ProviderInvoice,
  ProviderModule,
  ProviderSettingsBase,
  SubscriptionListQuery,
  SubscriptionPage,
  VerifiedWebhook,
} from "./provider.ts";

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

const env = {
  POLAR_ACCESS_TOKEN: optionalString,
  POLAR_SERVER: z.preprocess(emptyAsUndefined, z.enum(["sandbox", "production"]).optional()),
  POLAR_WEBHOOK_SECRET: optionalString,
  ...planVariables("POLAR_PRODUCT", optionalMatching(UUID, "must be a Polar product id (a UUID)")),
};

export type PolarSettings = ProviderSettingsBase & { server: "sandbox" | "production" };

/** Polar as the app knows it: portal, checkout and webhooks (SPEC: Providers; PROVIDERS.md §2 and §4). */
export const polarProvider: ProviderModule<"polar", typeof env, PolarSettings> = {
  id: "polar",
  name: "Polar",
  env,
  apiKeyVariable: "POLAR_ACCESS_TOKEN",
  requiredInProduction: ["POLAR_WEBHOOK_SECRET", planVariable("POLAR_PRODUCT", "starter"), planVariable("POLAR_PRODUCT", "pro")],
  emulatedApiKey: "polar_oat_emulated",
  settings: (e, { production, emulated }) => ({
    apiKey: e.POLAR_ACCESS_TOKEN,
    server: e.POLAR_SERVER ?? (production ? "production" : "sandbox"),
    webhookSecret: e.POLAR_WEBHOOK_SECRET,
    plans: planSettings(e, "POLAR_PRODUCT", DEMO_PLAN_PROVIDER_IDS.polar, emulated),
  }),
  create: (settings, { timeoutMs, emulatorOrigin }) =>
    createPolarProvider({
      accessToken: settings.apiKey,
      server: settings.server,
      products: settings.plans,
      timeoutMs,
      emulatorOrigin,
    }),
  webhooks: { verify: verifyPolarWebhook, parse: parsePolarEvent },
};

export type PolarProviderOptions = {
  accessToken: string;
  server: "sandbox" | "production";
  /** The product id of each plan (checkout). */
  products?: PolarSettings["plans"];
  /** The longest the user waits for the portal. */
  timeoutMs: number;
  /** Sends the SDK to the local emulator instead of Polar's API. */
  emulatorOrigin?: string;
};

/** Polar: a customer session (`customerSessions.create`) → its `customer_portal_url`. */
export function createPolarProvider(options: PolarProviderOptions): BillingProvider {
  // The 1.x client does not retry; we add none, since every call opens a fresh session and the user can click again.
  const polar = createPolar({
    accessToken: options.accessToken,
    environment: options.server,
    timeout: options.timeoutMs / 1000, // seconds, unlike the other SDKs
    ...(options.emulatorOrigin ? { baseUrl: options.emulatorOrigin } : {}),
  });

  return {
    id: "polar",
    // Polar opens no page for an intent; these two still need a subscription to make sense (SPEC: "No subscription").
    intentsNeedingSubscription: ["cancel", "change_plan"],
    async createPortal(customer, { returnUrl, intent }) {
      let session: Awaited<ReturnType<typeof polar.customerSessions.create>>;
      try {
        session = await polar.customerSessions.create({ customer_id: customer.providerCustomerId, return_url: returnUrl });
      } catch (error) {
        throw toProviderError(error);
      }
      // 1.x does not validate answers, so check the one field we use.
      if (!isPortalUrl(session?.customer_portal_url)) {
        throw new ProviderError("polar", "unavailable", "session without a portal url");
      }
      // No deep links at Polar (PROVIDERS.md §4): its portal home, where the card, plan and cancel all are.
      return { url: session.customer_portal_url, deepLinked: intent === undefined || intent === "manage" };
    },

    async createCheckout({ plan, owner, successUrl, cancelUrl, quantity, trialDays }: CheckoutRequest) {
      const product = options.products?.[plan];
      if (!product) throw new ProviderError("polar", "not-configured", "no product id for the plan");
      let checkout: Awaited<ReturnType<typeof polar.checkouts.create>>;
      try {
        // SPEC: `external_customer_id` links (or creates) the Polar customer with our user id; it comes back
        // on every subscription event as `customer.external_id`.
        checkout = await polar.checkouts.create({
          products: [product],
          external_customer_id: owner.id,
          customer_email: owner.email,
          metadata: { organization_id: owner.id },
          // Polar fills the template in, so the return names its checkout (confirmation without waiting).
          success_url: withCheckoutReference(successUrl),
          return_url: cancelUrl,
          // Seat-based products only (PROVIDERS.md §5.4): sent for a per-seat plan, whose product must be seat-based.
          ...(quantity === undefined ? {} : { seats: quantity }),
          // The catalogue's trial overrides the product's; `allow_trial: false` turns a product's trial off for an
          // owner who had one (PROVIDERS.md §5.5).
          ...(trialDays > 0 ? { trial_interval: "day" as const, trial_interval_count: trialDays } : { allow_trial: false }),
        });
      } catch (error) {
        throw toProviderError(error);
      }
      if (!isPortalUrl(checkout?.url)) throw new ProviderError("polar", "unavailable", "checkout without a url");
      return { url: checkout.url };
    },

    listSubscriptionPage: (query) => listPolarSubscriptionPage(polar, query),

    checkoutReferenceParam: CHECKOUT_REFERENCE_PARAM,

    async retrieveCheckout(reference) {
      // A checkout id is all the user can put in the URL; anything else is no checkout of ours, and is not sent.
      if (!UUID.test(reference)) return null;
      const observedAt = observedNow();
      let answer: unknown;
      try {
        answer = await polar.checkouts.get(reference);
      } catch (error) {
        if (error instanceof errors.ResourceNotFound) return null;
        throw toProviderError(error);
      }
      const parsed = polarRetrievedCheckout.safeParse(answer);
      if (!parsed.success) throw new ProviderError("polar", "unavailable", "malformed checkout");
      const checkout = parsed.data;
      const organizationId = checkout.external_customer_id ?? checkout.metadata?.organization_id ?? null;
      // `succeeded`: paid and the subscription made. `confirmed` is still processing (no order yet): being confirmed.
      if (checkout.status !== "succeeded" || !checkout.customer_id) return { organizationId, complete: false, subscription: null, answeredAt: observedAt };
      // The checkout's `subscription_id` names only an upgraded subscription (PROVIDERS.md §5.3): the new one carries
      // `checkout_id`, so the customer's newest subscriptions are read and the one this checkout made is kept.
      let list: Awaited<ReturnType<typeof polar.subscriptions.list>>;
      try {
        list = await polar.subscriptions.list({ customer_id: checkout.customer_id, limit: 10, sorting: ["-started_at"] });
      } catch (error) {
        throw toProviderError(error);
      }
      const made = (Array.isArray(list?.items) ? list.items : []).find((item) => item?.checkout_id === reference);
      const event = made
        ? parsePolarEvent({ eventId: "confirm", type: "subscription.updated", payload: { timestamp: observedAt.toISOString(), data: made } })
        : null;
      const subscription =
        event && event.kind !== "ignored" && event.kind !== "customer-linked"
          ? { organizationId: event.organizationId, providerCustomerId: event.providerCustomerId, subscription: event.subscription }
          : null;
      return { organizationId, complete: subscription !== null, subscription, answeredAt: observedAt };
    },

    async listInvoices({ providerCustomerId }) {
      let answer: unknown;
      try {
        answer = await polar.orders.list({ customer_id: providerCustomerId, limit: INVOICES_LISTED });
      } catch (error) {
        throw toProviderError(error);
      }
      const parsed = polarOrderList.safeParse(answer);
      if (!parsed.success) throw new ProviderError("polar", "unavailable", "list without items");
      const orders = parsed.data.items.flatMap((order) => {
        const status = POLAR_ORDER_STATUSES[order.status];
        return status ? [{ order, status }] : [];
      });
      // An order has no link of its own: its receipt's is asked per view (presigned, never stored), for those that have one.
      return Promise.all(
        orders.map(async ({ order, status }): Promise<ProviderInvoice> => ({
          date: new Date(order.created_at),
          amount: order.total_amount,
          currency: order.currency,
          status,
          url: order.receipt_number ? await receiptUrl(order.id) : null,
        })),
      );
    },

    async updateSeats({ providerSubscriptionId, quantity }) {
      let updated: Awaited<ReturnType<typeof polar.subscriptions.update>>;
      try {
        // `SubscriptionUpdateSeats`; `prorate` charges the difference on the next invoice, as Stripe's
        // `create_prorations` does, whatever the organisation's default is (ADR 029).
        updated = await polar.subscriptions.update(providerSubscriptionId, { seats: quantity, proration_behavior: "prorate" });
      } catch (error) {
        throw seatsError(error);
      }
      // 1.x does not validate answers.
      if (typeof updated?.seats !== "number") throw new ProviderError("polar", "unavailable", "subscription without seats");
      return { quantity: updated.seats };
    },
  };

  /** The receipt's presigned link, or null when Polar has none to give (the list still shows the order). */
  async function receiptUrl(orderId: string): Promise<string | null> {
    try {
      const receipt = await polar.orders.receipt(orderId);
      return isPortalUrl(receipt?.url) ? receipt.url : null;
    } catch (error) {
      if (error instanceof errors.ResourceNotFound) return null;
      throw toProviderError(error);
    }
  }
}

/** Orders listed on the account page, newest first (Polar's default sorting). */
const INVOICES_LISTED = 10;

/** Polar's order words in the account page's; drafts are not the customer's to see. */
const POLAR_ORDER_STATUSES: Record<string, ProviderInvoice["status"] | undefined> = {
  paid: "paid",
  pending: "open",
  refunded: "refunded",
  partially_refunded: "paid",
  void: "void",
};

const polarOrderList = z.object({
  items: z.array(
    z.object({
      id: z.string(),
      created_at: z.string(),
      currency: z.string(),
      total_amount: z.number().int(),
      status: z.string(),
      receipt_number: z.string().nullish(),
    }),
  ),
});

const polarRetrievedCheckout = z.object({
  status: z.string(),
  customer_id: z.string().nullish(),
  external_customer_id: z.string().nullish(),
  metadata: z.object({ organization_id: z.string().nullish() }).passthrough().nullish(),
});

const CHECKOUT_REFERENCE_PARAM = "checkout_id";

/** The success URL with Polar's `{CHECKOUT_ID}` template (literal braces: Polar replaces them). */
function withCheckoutReference(successUrl: string): string {
  return `${successUrl}${successUrl.includes("?") ? "&" : "?"}${CHECKOUT_REFERENCE_PARAM}={CHECKOUT_ID}`;
}

/**
 * `subscriptions.update`'s own refusals: 403 (canceled or cancelling), 409 (an update pending), 402 (the charge
 * failed), 404; a 400 (not seat-based, outside the product's seat limits, below the seats assigned) arrives as a
 * plain client error. All are refusals of this change, not a bad token.
 */
function seatsError(error: unknown): unknown {
  if (
    error instanceof errors.SubscriptionsUpdate402Error ||
    error instanceof errors.SubscriptionsUpdate403Error ||
    error instanceof errors.SubscriptionsUpdate409Error ||
    error instanceof errors.ResourceNotFound
  ) {
    return new ProviderError("polar", "refused", "seat change refused");
  }
  if (error instanceof PolarClientError && error.statusCode === 400) return new ProviderError("polar", "refused", "seat change refused");
  return toProviderError(error);
}

/** Reduces any SDK error to a kind; Polar's text (which can echo the customer id) stays here. */
function toProviderError(error: unknown): unknown {
  if (error instanceof PolarRateLimitError) {
    const seconds = error.retryAfter;
    return new ProviderError("polar", "rate-limited", "rate limited", Number.isInteger(seconds) ? seconds! : undefined);
  }
  if (error instanceof errors.HTTPValidationError) {
    return namesCustomer(error.error)
      ? new ProviderError("polar", "unknown-customer", "customer unknown")
      : new ProviderError("polar", "refused", "request refused as invalid");
  }
  if (error instanceof PolarClientError) {
    return error.statusCode === 401 || error.statusCode === 403
      ? new ProviderError("polar", "auth", "access token refused")
      : new ProviderError("polar", "refused", "request refused");
  }
  if (error instanceof PolarServerError) return new ProviderError("polar", "unavailable", "server error");
  if (error instanceof PolarNetworkError) {
    // The SDK keeps only the abort reason's text; AbortSignal.timeout's reads "...aborted due to timeout".
    return /timeout/i.test(error.message)
      ? new ProviderError("polar", "timeout", "no answer in time")
      : new ProviderError("polar", "unavailable", "connection failed");
  }
  // A 2xx (or 422) body that is not JSON surfaces as the SDK's own `response.json()` failure.
  if (error instanceof SyntaxError) return new ProviderError("polar", "unavailable", "malformed answer");
  return error;
}

/** Polar reports an unknown customer as a validation error on the customer id field. */
function namesCustomer(body: unknown): boolean {
  const detail = (body as { detail?: unknown } | null)?.detail;
  if (!Array.isArray(detail)) return false;
  return detail.some((issue: { loc?: unknown }) => {
    const loc = Array.isArray(issue?.loc) ? issue.loc : [];
    return loc.at(-1) === "customer_id" || loc.at(-1) === "external_customer_id";
  });
}

/** Polar's subscription words (the SDK's own `SubscriptionStatus`) in the app's. */
export const POLAR_SUBSCRIPTION_STATUSES = {
  incomplete: "incomplete",
  incomplete_expired: "expired",
  trialing: "trialing",
  active: "active",
  past_due: "past_due",
  canceled: "canceled",
  unpaid: "unpaid",
  paused: "paused",
} as const satisfies Record<models.SubscriptionStatus, SubscriptionStatus>;

async function verifyPolarWebhook(rawBody: Buffer, headers: Headers, secret: string): Promise<VerifiedWebhook | null> {
  const eventId = headers.get("webhook-id");
  if (!eventId) return null;
  try {
    // The SDK's Standard Webhooks verifier: signature over `${id}.${timestamp}.${body}`, timestamp within 5 minutes.
    const event = await webhooks.validateEvent(rawBody, Object.fromEntries(headers), secret);
    return { eventId, type: event.type, payload: event };
  } catch (error) {
    // Thrown only after the signature checked out: a genuine event of a type this SDK does not know.
    if (error instanceof webhooks.PolarWebhookUnknownTypeError) {
      return { eventId, type: String(error.eventType ?? "unknown"), payload: null };
    }
    return null;
  }
}

const polarSubscription = z.object({
  id: z.string(),
  status: z.string(),
  customer_id: z.string(),
  product_id: z.string().nullish(),
  current_period_end: z.string().nullish(),
  cancel_at_period_end: z.boolean().nullish(),
  // Set once it has ended (revoked now, or canceled at the period's end); `ends_at` is only the scheduled end.
  ended_at: z.string().nullish(),
  trial_end: z.string().nullish(),
  // Seat-based products say `seats`, unit-based ones `units`; others neither.
  seats: z.number().int().nullish(),
  units: z.number().int().nullish(),
  customer: z.object({ external_id: z.string().nullish() }).nullish(),
});
const polarCustomer = z.object({ id: z.string(), external_id: z.string().nullish() });
const polarEvent = z.object({ timestamp: z.string().nullish(), data: z.unknown() });

function parsePolarEvent({ type, payload }: VerifiedWebhook): BillingEvent {
  const event = polarEvent.safeParse(payload);
  if (!event.success) return { kind: "ignored" };
  // The event's own time; an event without one cannot be ordered, so it is not applied.
  const occurredAt = new Date(event.data.timestamp ?? Number.NaN);
  if (Number.isNaN(occurredAt.getTime())) return { kind: "ignored" };

  if (type.startsWith("subscription.")) {
    const parsed = polarSubscription.safeParse(event.data.data);
    if (!parsed.success) return { kind: "ignored" };
    const subscription = parsed.data;
    const status = POLAR_SUBSCRIPTION_STATUSES[subscription.status as models.SubscriptionStatus];
    if (!status) return { kind: "ignored" };
    return {
      // Revoked: the subscription ended now, not at the period's end.
      kind: type === "subscription.revoked" ? "subscription-deleted" : "subscription-upserted",
      organizationId: subscription.customer?.external_id ?? null,
      providerCustomerId: subscription.customer_id,
      occurredAt,
      subscription: {
        providerSubscriptionId: subscription.id,
        providerPlanId: subscription.product_id ?? null,
        status,
        currentPeriodEnd: subscription.current_period_end ? new Date(subscription.current_period_end) : null,
        cancelAtPeriodEnd: Boolean(subscription.cancel_at_period_end),
        endedAt: subscription.ended_at ? new Date(subscription.ended_at) : null,
        trialEnd: subscription.trial_end ? new Date(subscription.trial_end) : null,
        quantity: subscription.seats ?? subscription.units ?? null,
      },
    };
  }

  if (type === "customer.created" || type === "customer.updated") {
    const parsed = polarCustomer.safeParse(event.data.data);
    if (!parsed.success) return { kind: "ignored" };
    return { kind: "customer-linked", organizationId: parsed.data.external_id ?? null, providerCustomerId: parsed.data.id, occurredAt };
  }
  return { kind: "ignored" };
}

/** Polar's largest page (PROVIDERS.md §5.1). */
const POLAR_PAGE_SIZE = 100;

/**
 * One page of `GET /v1/subscriptions/` for a customer: without `active` or `status` every state comes back.
 * Pages are numbered (`page`, `pagination.max_page`); the cursor is the next page's number.
 */
async function listPolarSubscriptionPage(polar: ReturnType<typeof createPolar>, { providerCustomerId, cursor }: SubscriptionListQuery): Promise<SubscriptionPage> {
  const observedAt = observedNow();
  const page = cursor === null ? 1 : Number(cursor);
  let answer: Awaited<ReturnType<typeof polar.subscriptions.list>>;
  try {
    answer = await polar.subscriptions.list({ customer_id: providerCustomerId, page, limit: POLAR_PAGE_SIZE });
  } catch (error) {
    throw toProviderError(error);
  }
  // 1.x does not validate answers.
  if (!Array.isArray(answer?.items) || typeof answer.pagination?.max_page !== "number") {
    throw new ProviderError("polar", "unavailable", "list without items");
  }
  const items = listedSubscriptions(answer.items, observedAt, (data) =>
    parsePolarEvent({ eventId: "sync", type: "subscription.updated", payload: { timestamp: observedAt.toISOString(), data } }),
  );
  return { items, next: page < answer.pagination.max_page ? String(page + 1) : null };
}
