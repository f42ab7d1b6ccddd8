import { createHash, createHmac, timingSafeEqual } from "node:crypto";
import { createCheckout, getCustomer, lemonSqueezySetup, type Subscription } from "@lemonsqueezy/lemonsqueezy.js";
import { z } from "zod";
import { DEMO_LEMONSQUEEZY_STORE_ID, DEMO_PLAN_PROVIDER_IDS } from "~/billing/plans.ts";
import type { SubscriptionStatus } from "~/billing/subscription-status.ts";
import { emptyAsUndefined, optionalMatching, optionalString, planSettings, planVariable, planVariables } from "~/config/env-fields.ts";
import { isPortalUrl } from "./portal-url.ts";
import { ProviderError } from "./provider-error.ts";
import type { BillingEvent, BillingProvider, CheckoutRequest, ProviderModule, ProviderSettingsBase, VerifiedWebhook } from "./provider.ts";

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
  /** The clock the URL cache ages by; tests move it forward. */
  now?: () => number;
  /** How many customers' URLs are kept; the least recently used goes first beyond it. */
  cacheSize?: number;
};

/** Half the signed URL's 24 h validity: a cached link always has at least 12 h left when handed out. */
const PORTAL_URL_CACHE_TTL_MS = 12 * 60 * 60 * 1000;
/** Enough for the active users of a small app, small enough to never matter for memory. */
const DEFAULT_CACHE_SIZE = 1000;

type LemonSqueezyResult = Awaited<ReturnType<typeof getCustomer>>;

/** Lemon Squeezy: `getCustomer(id)` → `data.attributes.urls.customer_portal`, cached per customer. */
export function createLemonSqueezyProvider(options: LemonSqueezyProviderOptions): BillingProvider {
  const now = options.now ?? Date.now;
  const cacheSize = options.cacheSize ?? DEFAULT_CACHE_SIZE;
  const cache = new Map<string, { url: string; storedAt: number }>();

  const isFresh = (entry: { storedAt: number } | undefined) =>
    entry !== undefined && now() - entry.storedAt < PORTAL_URL_CACHE_TTL_MS;

  return {
    id: "lemonsqueezy",
    // A look only: it leaves the entry's place in the least-recently-used order alone.
    servesPortalFromCache: ({ providerCustomerId: id }) => isFresh(cache.get(id)),
    async createPortal({ providerCustomerId: id }) {
      const cached = cache.get(id);
      cache.delete(id);
      if (cached && isFresh(cached)) {
        cache.set(id, cached); // most recently used goes last, so eviction drops the least used
        return { url: cached.url };
      }
      // getCustomer throws on an empty id instead of answering; no provider has such a customer.
      if (!id) throw new ProviderError("lemonsqueezy", "unknown-customer", "empty customer id");

      // The SDK keeps its key in module state: set it right before the call (it is read synchronously)
      // so two instances in one process never send each other's key.
      lemonSqueezySetup({ apiKey: options.apiKey });
      // The SDK has no timeout: the resilience policy aborts its fetch at the deadline (call-scope.server.ts).
      const url = portalUrlFrom(await getCustomer(id));

      cache.set(id, { url, storedAt: now() });
      if (cache.size > cacheSize) cache.delete(cache.keys().next().value!);
      return { url };
    },

    async createCheckout({ plan, user, successUrl }: CheckoutRequest) {
      const variant = options.variants?.[plan];
      if (!variant || !options.storeId) throw new ProviderError("lemonsqueezy", "not-configured", "no store or variant id for the plan");
      lemonSqueezySetup({ apiKey: options.apiKey });
      // SPEC: `checkout_data.custom` comes back as `meta.custom_data` on the order and subscription events.
      const result = await createCheckout(options.storeId, variant, {
        checkoutData: { email: user.email, custom: { user_id: user.id } },
        productOptions: { redirectUrl: successUrl },
      });
      if (result.error) failFromStatus(result.statusCode);
      const url = result.data?.data?.attributes?.url;
      if (!isPortalUrl(url)) return fail("unavailable", "checkout without a url");
      return { url };
    },
  };
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
  if (statusCode === 404) return fail(notFound, notFound === "unknown-customer" ? "customer unknown" : "not found");
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
  // Cancelled keeps access until `ends_at`; the event also says cancelled: true, which the account page shows as "cancels on".
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
  meta: z.object({ custom_data: z.object({ user_id: z.union([z.string(), z.number()]).nullish() }).nullish() }).nullish(),
  data: z.object({ type: z.string(), id: z.union([z.string(), z.number()]), attributes: z.record(z.string(), z.unknown()) }),
});
const lemonSqueezySubscription = z.object({
  customer_id: z.union([z.string(), z.number()]),
  variant_id: z.union([z.string(), z.number()]).nullish(),
  status: z.string(),
  cancelled: z.boolean().nullish(),
  renews_at: z.string().nullish(),
  ends_at: z.string().nullish(),
  updated_at: z.string(),
});
const lemonSqueezyOrder = z.object({ customer_id: z.union([z.string(), z.number()]), updated_at: z.string() });

function parseLemonSqueezyEvent({ type, payload }: VerifiedWebhook): BillingEvent {
  const event = lemonSqueezyEvent.safeParse(payload);
  if (!event.success) return { kind: "ignored" };
  const { meta, data } = event.data;
  const userId = meta?.custom_data?.user_id != null ? String(meta.custom_data.user_id) : null;

  // subscription_payment_* events carry an invoice, not the subscription: its state arrives by subscription_updated.
  if (type.startsWith("subscription_") && !type.startsWith("subscription_payment_") && data.type === "subscriptions") {
    const parsed = lemonSqueezySubscription.safeParse(data.attributes);
    if (!parsed.success) return { kind: "ignored" };
    const subscription = parsed.data;
    const status = LEMONSQUEEZY_SUBSCRIPTION_STATUSES[subscription.status as LemonSqueezyStatus];
    if (!status) return { kind: "ignored" };
    const cancelled = Boolean(subscription.cancelled);
    const periodEnd = cancelled ? (subscription.ends_at ?? subscription.renews_at) : (subscription.renews_at ?? subscription.ends_at);
    return {
      kind: type === "subscription_expired" ? "subscription-deleted" : "subscription-upserted",
      userId,
      providerCustomerId: String(subscription.customer_id),
      // Lemon Squeezy's events carry no event time: the subscription's updated_at is the state's time.
      occurredAt: new Date(subscription.updated_at),
      subscription: {
        providerSubscriptionId: String(data.id),
        providerPlanId: subscription.variant_id != null ? String(subscription.variant_id) : null,
        status,
        currentPeriodEnd: periodEnd ? new Date(periodEnd) : null,
        cancelAtPeriodEnd: cancelled,
      },
    };
  }

  if (type === "order_created" && data.type === "orders") {
    const parsed = lemonSqueezyOrder.safeParse(data.attributes);
    if (!parsed.success) return { kind: "ignored" };
    return { kind: "customer-linked", userId, providerCustomerId: String(parsed.data.customer_id), occurredAt: new Date(parsed.data.updated_at) };
  }
  return { kind: "ignored" };
}
