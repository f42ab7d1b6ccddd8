import { createHash, createHmac, timingSafeEqual } from "node:crypto";
import {
  createCheckout,
  getCustomer,
  getOrder,
  getSubscription,
  lemonSqueezySetup,
  listSubscriptionInvoices,
  listSubscriptionItems,
  listSubscriptions,
  updateSubscriptionItem,
  type Subscription,
} from "@lemonsqueezy/lemonsqueezy.js";
import { LRUCache } from "lru-cache";
import { z } from "zod";
import { DEMO_LEMONSQUEEZY_STORE_ID, DEMO_PLAN_PROVIDER_IDS } from "~/billing/plans.ts";
import type { SubscriptionStatus } from "~/billing/subscription-status.ts";
import { emptyAsUndefined, optionalMatching, optionalString, planSettings, planVariable, planVariables } from "~/config/env-fields.ts";
import { listedSubscriptions, observedNow } from "./listed-subscriptions.ts";
import { isPortalUrl } from "./portal-url.ts";
import { ProviderError } from "./provider-error.ts";
import type {
  BillingEvent,
  BillingProvider,
  CheckoutRequest,
  PortalIntent,
  ProviderInvoice,
  ProviderModule,
  ProviderSettingsBase,
  SubscriptionListQuery,
  SubscriptionPage,
  VerifiedWebhook,
} from "./provider.ts";

const NUMERIC_ID = /^\d+$/;

const env = {
  LEMONSQUEEZY_API_KEY: optionalString,
  LEMONSQUEEZY_STORE_ID: optionalMatching(NUMERIC_ID, "must be a Lemon Squeezy store id (digits)"),
  // Lemon Squeezy accepts signing secrets of 6 to 40 characters.
  LEMONSQUEEZY_WEBHOOK_SECRET: z.preprocess(
    emptyAsUndefined,
    z.string().min(6, "must be 6 to 40 characters long").max(40, "must be 6 to 40 characters long").optional(),
  ),
  ...planVariables("LEMONSQUEEZY_VARIANT", optionalMatching(NUMERIC_ID, "must be a Lemon Squeezy variant id (digits)")),
};

export type LemonSqueezySettings = ProviderSettingsBase & { storeId?: string };

/** Lemon Squeezy as the app knows it: portal, checkout and webhooks (SPEC: Providers; PROVIDERS.md §3 and §4). */
export const lemonSqueezyProvider: ProviderModule<"lemonsqueezy", typeof env, LemonSqueezySettings> = {
  id: "lemonsqueezy",
  name: "Lemon Squeezy",
  env,
  apiKeyVariable: "LEMONSQUEEZY_API_KEY",
  requiredInProduction: [
    "LEMONSQUEEZY_WEBHOOK_SECRET",
    "LEMONSQUEEZY_STORE_ID",
    planVariable("LEMONSQUEEZY_VARIANT", "starter"),
    planVariable("LEMONSQUEEZY_VARIANT", "pro"),
  ],
  // Lemon Squeezy keys are JWTs, so the placeholder has the same three-part shape.
  emulatedApiKey: "emulated.lemonsqueezy.key",
  settings: (e, { emulated }) => ({
    apiKey: e.LEMONSQUEEZY_API_KEY,
    storeId: e.LEMONSQUEEZY_STORE_ID ?? (emulated ? DEMO_LEMONSQUEEZY_STORE_ID : undefined),
    webhookSecret: e.LEMONSQUEEZY_WEBHOOK_SECRET,
    plans: planSettings(e, "LEMONSQUEEZY_VARIANT", DEMO_PLAN_PROVIDER_IDS.lemonsqueezy, emulated),
  }),
  // The SDK's API origin is fixed: in emulated mode the composition root reroutes its `fetch` calls.
  // No timeout of its own: the resilience policy aborts the SDK's fetch at the deadline (call-scope.server.ts).
  create: (settings) =>
    createLemonSqueezyProvider({ apiKey: settings.apiKey, storeId: settings.storeId, variants: settings.plans }),
  webhooks: { verify: verifyLemonSqueezyWebhook, parse: parseLemonSqueezyEvent },
};

export type LemonSqueezyProviderOptions = {
  apiKey: string;
  /** The store checkouts are created in. */
  storeId?: string;
  /** The variant id of each plan (checkout). */
  variants?: LemonSqueezySettings["plans"];
  /** The clock the URL caches age by; tests move it forward. */
  now?: () => number;
  /** How many customers' (and subscriptions') URLs are kept; the least recently used goes first beyond it. */
  cacheSize?: number;
};

/** Half the signed URLs' 24 h validity: a cached link always has at least 12 h left when handed out. */
const PORTAL_URL_CACHE_TTL_MS = 12 * 60 * 60 * 1000;
/** Enough for the active users of a small app, small enough to never matter for memory. */
const DEFAULT_CACHE_SIZE = 1000;

type LemonSqueezyResult = Awaited<ReturnType<typeof getCustomer>>;
type SubscriptionResult = Awaited<ReturnType<typeof getSubscription>>;
/** A subscription's two deep links (PROVIDERS.md §4), signed per subscription. */
type SubscriptionLinks = { updatePaymentMethod: string; updateSubscription: string };

/** A subscription's links are cached under its customer too: a link is only ever found again for that customer. */
const subscriptionKey = (customerId: string, subscriptionId: string) => JSON.stringify([customerId, subscriptionId]);

/** Which page an intent opens: the subscription's own deep link, or the customer portal (which cancels too). */
const usesSubscriptionLink = (intent: PortalIntent | undefined) => intent === "payment_method" || intent === "change_plan";

/**
 * Lemon Squeezy: `getCustomer(id)` → `data.attributes.urls.customer_portal`, and for deep links
 * `getSubscription(id)` → its `urls.update_payment_method` / `urls.customer_portal_update_subscription`.
 * Both are cached: the customer's link per customer, a subscription's links per customer and subscription,
 * so no user is ever handed a link signed for someone else.
 */
export function createLemonSqueezyProvider(options: LemonSqueezyProviderOptions): BillingProvider {
  const cacheOptions = {
    max: options.cacheSize ?? DEFAULT_CACHE_SIZE,
    // lru-cache keeps an entry up to and including its ttl; a link is 12 h old at most when handed out.
    ttl: PORTAL_URL_CACHE_TTL_MS - 1,
    perf: { now: options.now ?? Date.now },
    // Read the clock on every look (the default reuses one reading for 1 ms, which a test clock outruns).
    ttlResolution: 0,
  };
  const customerLinks = new LRUCache<string, string>(cacheOptions);
  const subscriptionLinks = new LRUCache<string, SubscriptionLinks>(cacheOptions);

  return {
    id: "lemonsqueezy",
    intentsNeedingSubscription: ["payment_method", "cancel", "change_plan"],
    // `has` is a look only: it leaves the entry's place in the least-recently-used order alone.
    servesPortalFromCache: ({ providerCustomerId: id }, target) =>
      usesSubscriptionLink(target?.intent)
        ? target?.subscriptionId !== undefined && subscriptionLinks.has(subscriptionKey(id, target.subscriptionId))
        : customerLinks.has(id),

    async createPortal({ providerCustomerId: id }, { intent, subscriptionId }) {
      // getCustomer throws on an empty id instead of answering; no provider has such a customer.
      if (!id) throw new ProviderError("lemonsqueezy", "unknown-customer", "empty customer id");
      if (!usesSubscriptionLink(intent)) {
        // Lemon Squeezy has no cancel link: its customer portal is where a subscription is cancelled.
        return { url: await customerPortal(id), deepLinked: intent === undefined || intent === "manage" };
      }
      if (!subscriptionId) throw new ProviderError("lemonsqueezy", "refused", "deep link without a subscription");
      const links = await subscriptionDeepLinks(id, subscriptionId);
      return { url: intent === "payment_method" ? links.updatePaymentMethod : links.updateSubscription, deepLinked: true };
    },

    async createCheckout({ plan, owner, successUrl, quantity, trialDays }: CheckoutRequest) {
      const variant = options.variants?.[plan];
      if (!variant || !options.storeId) throw new ProviderError("lemonsqueezy", "not-configured", "no store or variant id for the plan");
      lemonSqueezySetup({ apiKey: options.apiKey });
      // SPEC: `checkout_data.custom` comes back as `meta.custom_data` on the order and subscription events.
      const result = await createCheckout(options.storeId, variant, {
        checkoutData: {
          email: owner.email,
          custom: { organization_id: owner.id },
          // A per-seat plan's quantity (PROVIDERS.md §5.4); without it Lemon Squeezy sells one.
          ...(quantity === undefined ? {} : { variantQuantities: [{ variantId: Number(variant), quantity }] }),
        },
        // `[order_id]` is Lemon Squeezy's link variable: where it fills it in, the return names the order
        // (confirmation without waiting); where it does not, the literal is no order id and the webhook confirms.
        productOptions: { redirectUrl: withOrderReference(successUrl) },
        // The trial is the variant's (set in Lemon Squeezy's dashboard to the catalogue's days); `skipTrial` drops it
        // for an owner who had one (PROVIDERS.md §5.5).
        ...(trialDays > 0 ? {} : { checkoutOptions: { skipTrial: true } }),
      });
      if (result.error) failFromStatus(result.statusCode);
      const url = result.data?.data?.attributes?.url;
      if (!isPortalUrl(url)) return fail("unavailable", "checkout without a url");
      return { url };
    },

    async listSubscriptionPage(query) {
      lemonSqueezySetup({ apiKey: options.apiKey });
      return listLemonSqueezySubscriptionPage(options.storeId, query);
    },

    checkoutReferenceParam: ORDER_REFERENCE_PARAM,

    async retrieveCheckout(reference, owner) {
      // An order id is all the user can put in the URL; anything else is no order of ours, and is not sent.
      if (!NUMERIC_ID.test(reference) || reference.length > 20) return null;
      const observedAt = observedNow();
      lemonSqueezySetup({ apiKey: options.apiKey });
      const { statusCode, data, error } = await getOrder(reference, { include: ["subscriptions"] });
      if (statusCode === 404) return null;
      if (error) failFromStatus(statusCode);
      const parsed = lemonSqueezyRetrievedOrder.safeParse(data);
      if (!parsed.success) return fail("unavailable", "malformed order");
      const order = parsed.data.data.attributes;
      // An order carries no custom data: it is the owner's when it was paid with the owner's email (the checkout's).
      const organizationId = order.user_email.toLowerCase() === owner.email.toLowerCase() ? owner.id : null;
      if (order.status !== "paid" || (options.storeId && String(order.store_id) !== options.storeId)) {
        return { organizationId, complete: false, subscription: null, answeredAt: observedAt };
      }
      const made = (parsed.data.included ?? []).find((resource) => resource.type === "subscriptions");
      const event = made ? parseLemonSqueezyEvent({ eventId: "confirm", type: "subscription_updated", payload: { data: made } }) : null;
      const subscription =
        event && (event.kind === "subscription-upserted" || event.kind === "subscription-deleted")
          ? { organizationId, providerCustomerId: event.providerCustomerId, subscription: event.subscription }
          : null;
      return { organizationId, complete: subscription !== null, subscription, answeredAt: observedAt };
    },

    async listInvoices({ providerSubscriptionIds }) {
      lemonSqueezySetup({ apiKey: options.apiKey });
      // No customer filter: each of the owner's subscriptions is asked for its invoices (a few subscriptions at most).
      const pages = await Promise.all(
        providerSubscriptionIds.filter((id) => NUMERIC_ID.test(id)).map(async (subscriptionId) => {
          const { statusCode, data, error } = await listSubscriptionInvoices({ filter: { subscriptionId }, page: { size: INVOICES_LISTED } });
          if (error) failFromStatus(statusCode);
          const parsed = lemonSqueezyInvoiceList.safeParse(data);
          if (!parsed.success) return fail("unavailable", "list without data");
          return parsed.data.data;
        }),
      );
      return pages
        .flat()
        .flatMap(({ attributes: invoice }): ProviderInvoice[] => {
          const status = LEMON_SQUEEZY_INVOICE_STATUSES[invoice.status];
          if (!status) return [];
          const url = invoice.urls?.invoice_url;
          return [{ date: new Date(invoice.created_at), amount: invoice.total, currency: invoice.currency, status, url: isPortalUrl(url) ? url : null }];
        })
        .toSorted((a, b) => b.date.getTime() - a.date.getTime())
        .slice(0, INVOICES_LISTED);
    },

    async updateSeats({ providerSubscriptionId, quantity }) {
      lemonSqueezySetup({ apiKey: options.apiKey });
      const itemId = await subscriptionItemId(providerSubscriptionId);
      lemonSqueezySetup({ apiKey: options.apiKey });
      // Both flags false (the SDK's defaults, sent anyway): prorated on the next renewal invoice (ADR 029).
      const { statusCode, data, error } = await updateSubscriptionItem(itemId, { quantity, invoiceImmediately: false, disableProrations: false });
      // 422: a usage-based item, or a quantity Lemon Squeezy will not take; 404: no such item.
      if (error) failFromStatus(statusCode);
      const now = data?.data?.attributes?.quantity;
      if (typeof now !== "number") return fail("unavailable", "subscription item without a quantity");
      return { quantity: now };
    },
  };

  /**
   * The subscription's item: `first_subscription_item` from getSubscription, or, during a free trial (when that is
   * null), the first of listSubscriptionItems (PROVIDERS.md §5.2, §5.4).
   */
  async function subscriptionItemId(subscriptionId: string): Promise<string> {
    const subscription = await getSubscription(subscriptionId);
    if (subscription.error) failFromStatus(subscription.statusCode);
    const first = subscription.data?.data?.attributes?.first_subscription_item;
    if (first?.is_usage_based) return fail("refused", "usage-based subscription item");
    if (first && first.id != null) return String(first.id);
    lemonSqueezySetup({ apiKey: options.apiKey });
    const items = await listSubscriptionItems({ filter: { subscriptionId } });
    if (items.error) failFromStatus(items.statusCode);
    const listed = items.data?.data?.[0];
    if (!listed || listed.id == null) return fail("unavailable", "subscription without an item");
    if (listed.attributes?.is_usage_based) return fail("refused", "usage-based subscription item");
    return String(listed.id);
  }

  async function customerPortal(id: string): Promise<string> {
    const cached = customerLinks.get(id);
    if (cached) return cached;
    // The SDK keeps its key in module state: set it right before the call (it is read synchronously)
    // so two instances in one process never send each other's key.
    lemonSqueezySetup({ apiKey: options.apiKey });
    // The SDK has no timeout: the resilience policy aborts its fetch at the deadline (call-scope.server.ts).
    const url = portalUrlFrom(await getCustomer(id));
    customerLinks.set(id, url);
    return url;
  }

  async function subscriptionDeepLinks(customerId: string, subscriptionId: string): Promise<SubscriptionLinks> {
    const key = subscriptionKey(customerId, subscriptionId);
    const cached = subscriptionLinks.get(key);
    if (cached) return cached;
    lemonSqueezySetup({ apiKey: options.apiKey });
    const links = subscriptionLinksFrom(await getSubscription(subscriptionId), customerId);
    subscriptionLinks.set(key, links);
    return links;
  }
}

/** The subscription's deep links, once it is known to be this customer's (a link is never handed to another). */
function subscriptionLinksFrom({ statusCode, data, error }: SubscriptionResult, customerId: string): SubscriptionLinks {
  if (error) failFromStatus(statusCode, "no-portal");
  const attributes = data?.data?.attributes;
  if (attributes && String(attributes.customer_id) !== customerId) return fail("refused", "subscription of another customer");
  const updatePaymentMethod = attributes?.urls?.update_payment_method;
  const updateSubscription = attributes?.urls?.customer_portal_update_subscription;
  if (!isPortalUrl(updatePaymentMethod) || !isPortalUrl(updateSubscription)) return fail("unavailable", "subscription without its urls");
  return { updatePaymentMethod, updateSubscription };
}

/** The SDK answers `{ statusCode, data, error }` instead of throwing; this turns that into a URL or a ProviderError. */
function portalUrlFrom({ statusCode, data, error }: LemonSqueezyResult): string {
  if (error) failFromStatus(statusCode, "unknown-customer");
  const portal = data?.data?.attributes?.urls?.customer_portal;
  if (portal === null) return fail("no-portal", "customer has no subscription");
  if (!isPortalUrl(portal)) return fail("unavailable", "customer without a portal url");
  return portal;
}

function failFromStatus(statusCode: number | null, notFound: ProviderError["kind"] = "refused"): never {
  if (statusCode === 404) return fail(notFound, notFound === "unknown-customer" ? "customer unknown" : notFound === "no-portal" ? "subscription unknown" : "not found");
  if (statusCode === 401 || statusCode === 403) return fail("auth", "api key refused");
  if (statusCode === 429) return fail("rate-limited", "rate limited");
  if (statusCode === null || statusCode >= 500) return fail("unavailable", "server error, network failure or malformed answer");
  return fail("refused", "request refused");
}

function fail(kind: ProviderError["kind"], detail: string): never {
  throw new ProviderError("lemonsqueezy", kind, detail);
}

type LemonSqueezyStatus = Subscription["data"]["attributes"]["status"];

/** Lemon Squeezy's subscription words (the SDK's own type, which also lists "pause") in the app's. */
export const LEMONSQUEEZY_SUBSCRIPTION_STATUSES = {
  on_trial: "trialing",
  active: "active",
  paused: "paused",
  pause: "paused",
  past_due: "past_due",
  unpaid: "unpaid",
  // Its webhook parser stores `cancelled` as active and cancelling at `ends_at` (SPEC: it keeps access until then).
  cancelled: "canceled",
  expired: "expired",
} as const satisfies Record<LemonSqueezyStatus, SubscriptionStatus>;

async function verifyLemonSqueezyWebhook(rawBody: Buffer, headers: Headers, secret: string): Promise<VerifiedWebhook | null> {
  const signature = headers.get("x-signature");
  if (!signature) return null;
  const expected = Buffer.from(createHmac("sha256", secret).update(rawBody).digest("hex"));
  const given = Buffer.from(signature.trim().toLowerCase());
  if (given.length !== expected.length || !timingSafeEqual(given, expected)) return null;
  let payload: unknown;
  try {
    payload = JSON.parse(rawBody.toString("utf8"));
  } catch {
    return null;
  }
  const name = (payload as { meta?: { event_name?: unknown } } | null)?.meta?.event_name;
  return {
    // No event id and no timestamp in Lemon Squeezy's scheme: the body's hash names a delivery, so a redelivery is known.
    eventId: createHash("sha256").update(rawBody).digest("hex"),
    type: typeof name === "string" ? name : (headers.get("x-event-name") ?? "unknown"),
    payload,
  };
}

const lemonSqueezyEvent = z.object({
  meta: z
    .object({
      custom_data: z
        .object({ organization_id: z.union([z.string(), z.number()]).nullish(), user_id: z.union([z.string(), z.number()]).nullish() })
        .nullish(),
    })
    .nullish(),
  data: z.object({ type: z.string(), id: z.union([z.string(), z.number()]), attributes: z.record(z.string(), z.unknown()) }),
});
const lemonSqueezySubscription = z.object({
  customer_id: z.union([z.string(), z.number()]),
  variant_id: z.union([z.string(), z.number()]).nullish(),
  status: z.string(),
  cancelled: z.boolean().nullish(),
  renews_at: z.string().nullish(),
  ends_at: z.string().nullish(),
  trial_ends_at: z.string().nullish(),
  first_subscription_item: z.object({ quantity: z.number().int().nullish() }).nullish(),
  updated_at: z.string(),
});
const lemonSqueezyOrder = z.object({ customer_id: z.union([z.string(), z.number()]), updated_at: z.string() });

const date = (iso: string | null | undefined) => (iso ? new Date(iso) : null);

function parseLemonSqueezyEvent({ type, payload }: VerifiedWebhook): BillingEvent {
  const event = lemonSqueezyEvent.safeParse(payload);
  if (!event.success) return { kind: "ignored" };
  const { meta, data } = event.data;
  // `user_id`: a checkout opened before organisations (the webhook service maps a user to their personal organisation).
  const ownerId = meta?.custom_data?.organization_id ?? meta?.custom_data?.user_id;
  const organizationId = ownerId != null ? String(ownerId) : null;

  // subscription_payment_* events carry an invoice, not the subscription: its state arrives by subscription_updated.
  if (type.startsWith("subscription_") && !type.startsWith("subscription_payment_") && data.type === "subscriptions") {
    const parsed = lemonSqueezySubscription.safeParse(data.attributes);
    if (!parsed.success) return { kind: "ignored" };
    const subscription = parsed.data;
    const providerStatus = LEMONSQUEEZY_SUBSCRIPTION_STATUSES[subscription.status as LemonSqueezyStatus];
    if (!providerStatus) return { kind: "ignored" };
    const cancelled = Boolean(subscription.cancelled) || subscription.status === "cancelled";
    const expired = subscription.status === "expired";
    // SPEC: `cancelled` is still a paying subscription until `ends_at` (access, no second checkout), as Stripe's and
    // Polar's scheduled cancels are: active, cancelling at the period's end. `expired` ends it, at `ends_at`.
    const status = subscription.status === "cancelled" ? "active" : providerStatus;
    const periodEnd = cancelled ? (subscription.ends_at ?? subscription.renews_at) : (subscription.renews_at ?? subscription.ends_at);
    return {
      kind: type === "subscription_expired" || expired ? "subscription-deleted" : "subscription-upserted",
      organizationId,
      providerCustomerId: String(subscription.customer_id),
      // Lemon Squeezy's events carry no event time: the subscription's updated_at is the state's time.
      occurredAt: new Date(subscription.updated_at),
      subscription: {
        providerSubscriptionId: String(data.id),
        providerPlanId: subscription.variant_id != null ? String(subscription.variant_id) : null,
        status,
        currentPeriodEnd: date(periodEnd),
        cancelAtPeriodEnd: cancelled && !expired,
        endedAt: expired ? date(subscription.ends_at) : null,
        trialEnd: subscription.status === "on_trial" ? date(subscription.trial_ends_at) : null,
        quantity: subscription.first_subscription_item?.quantity ?? null,
      },
    };
  }

  if (type === "order_created" && data.type === "orders") {
    const parsed = lemonSqueezyOrder.safeParse(data.attributes);
    if (!parsed.success) return { kind: "ignored" };
    return { kind: "customer-linked", organizationId, providerCustomerId: String(parsed.data.customer_id), occurredAt: new Date(parsed.data.updated_at) };
  }
  return { kind: "ignored" };
}

const ORDER_REFERENCE_PARAM = "order_id";

/** The success URL with Lemon Squeezy's `[order_id]` link variable. */
function withOrderReference(successUrl: string): string {
  return `${successUrl}${successUrl.includes("?") ? "&" : "?"}${ORDER_REFERENCE_PARAM}=[order_id]`;
}

/** Invoices listed on the account page. */
const INVOICES_LISTED = 10;

/** Lemon Squeezy's invoice words in the account page's. */
const LEMON_SQUEEZY_INVOICE_STATUSES: Record<string, ProviderInvoice["status"] | undefined> = {
  paid: "paid",
  pending: "open",
  void: "void",
  refunded: "refunded",
};

const lemonSqueezyRetrievedOrder = z.object({
  data: z.object({
    attributes: z.object({ user_email: z.string(), status: z.string(), store_id: z.union([z.string(), z.number()]) }),
  }),
  included: z.array(z.object({ type: z.string(), id: z.union([z.string(), z.number()]), attributes: z.record(z.string(), z.unknown()) })).nullish(),
});

const lemonSqueezyInvoiceList = z.object({
  data: z.array(
    z.object({
      attributes: z.object({
        status: z.string(),
        total: z.number().int(),
        currency: z.string(),
        created_at: z.string(),
        urls: z.object({ invoice_url: z.string().nullish() }).nullish(),
      }),
    }),
  ),
});

/** Lemon Squeezy's largest page (PROVIDERS.md §5.1: unconfirmed; 100 is what its docs name). */
const LEMON_SQUEEZY_PAGE_SIZE = 100;

/**
 * One page of `listSubscriptions` (`GET /v1/subscriptions`). Lemon Squeezy has no customer filter: the store's
 * subscriptions for the owner's email, of which this customer's are kept (`attributes.customer_id` is a number).
 * Pages are numbered (`meta.page.lastPage`); the cursor is the next page's number.
 */
async function listLemonSqueezySubscriptionPage(
  storeId: string | undefined,
  { providerCustomerId, email, cursor }: SubscriptionListQuery,
): Promise<SubscriptionPage> {
  const observedAt = observedNow();
  const number = cursor === null ? 1 : Number(cursor);
  const { statusCode, data, error } = await listSubscriptions({
    filter: { userEmail: email, ...(storeId ? { storeId } : {}) },
    page: { number, size: LEMON_SQUEEZY_PAGE_SIZE },
  });
  if (error) failFromStatus(statusCode);
  const resources = data?.data;
  const lastPage = data?.meta?.page?.lastPage;
  if (!Array.isArray(resources) || typeof lastPage !== "number") return fail("unavailable", "list without data");
  const own = resources.filter((resource) => String(resource?.attributes?.customer_id) === providerCustomerId);
  const items = listedSubscriptions(own, observedAt, (resource) =>
    parseLemonSqueezyEvent({ eventId: "sync", type: "subscription_updated", payload: { data: resource } }),
  );
  return { items, next: number < lastPage ? String(number + 1) : null };
}
