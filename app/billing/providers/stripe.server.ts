import { Stripe } from "stripe";
import { z } from "zod";
import { DEMO_PLAN_PROVIDER_IDS } from "~/billing/plans.ts";
import type { SubscriptionStatus } from "~/billing/subscription-status.ts";
import { optionalMatching, planSettings, planVariable, planVariables } from "~/config/env-fields.ts";
import { matchLocale } from "~/http/languages.ts";
import { isPortalUrl } from "./portal-url.ts";
import { ProviderError } from "./provider-error.ts";
import { listedSubscriptions, observedNow } from "./listed-subscriptions.ts";
import type {
  BillingEvent,
  BillingProvider,
  CheckoutRequest,
  PortalOptions,
  ProviderInvoice,
  ProviderModule,
  RetrievedSubscription,
  ProviderSettingsBase,
  SubscriptionListQuery,
  SubscriptionPage,
  VerifiedWebhook,
} from "./provider.ts";

const env = {
  STRIPE_SECRET_KEY: optionalMatching(/^(sk|rk)_(test|live)_/, "must be a Stripe secret or restricted key (sk_… or rk_…)"),
  STRIPE_PORTAL_CONFIGURATION_ID: optionalMatching(/^bpc_/, "must be a portal configuration id (bpc_…)"),
  STRIPE_WEBHOOK_SECRET: optionalMatching(/^whsec_/, "must be a webhook signing secret (whsec_…)"),
  ...planVariables("STRIPE_PRICE", optionalMatching(/^price_/, "must be a Stripe price id (price_…)")),
};

export type StripeSettings = ProviderSettingsBase & { portalConfigurationId?: string };

/** Stripe as the app knows it: portal, checkout and webhooks (SPEC: Providers; PROVIDERS.md §1 and §4). */
export const stripeProvider: ProviderModule<"stripe", typeof env, StripeSettings> = {
  id: "stripe",
  name: "Stripe",
  env,
  apiKeyVariable: "STRIPE_SECRET_KEY",
  requiredInProduction: ["STRIPE_WEBHOOK_SECRET", planVariable("STRIPE_PRICE", "starter"), planVariable("STRIPE_PRICE", "pro")],
  emulatedApiKey: "sk_test_emulated",
  settings: (e, { emulated }) => ({
    apiKey: e.STRIPE_SECRET_KEY,
    portalConfigurationId: e.STRIPE_PORTAL_CONFIGURATION_ID,
    webhookSecret: e.STRIPE_WEBHOOK_SECRET,
    plans: planSettings(e, "STRIPE_PRICE", DEMO_PLAN_PROVIDER_IDS.stripe, emulated),
  }),
  create: (settings, { timeoutMs, emulatorOrigin }) =>
    createStripeProvider({
      secretKey: settings.apiKey,
      portalConfigurationId: settings.portalConfigurationId,
      prices: settings.plans,
      timeoutMs,
      emulatorOrigin,
    }),
  webhooks: { verify: verifyStripeWebhook, parse: parseStripeEvent },
};

export type StripeProviderOptions = {
  secretKey: string;
  /** A `bpc_…` id; without it Stripe uses the account's default portal configuration. */
  portalConfigurationId?: string;
  /** The price id of each plan (checkout). */
  prices?: StripeSettings["plans"];
  /** The longest the user waits for the portal, retries included. */
  timeoutMs: number;
  /** Sends the SDK to the local emulator instead of api.stripe.com. */
  emulatorOrigin?: string;
};

const { errors } = Stripe;

/** Stripe: `billingPortal.sessions.create` → the session's `url`; `checkout.sessions.create` → its `url`. */
export function createStripeProvider(options: StripeProviderOptions): BillingProvider {
  const stripe = new Stripe(options.secretKey, {
    // Retries belong to the shared resilience policy, which resends the same Idempotency-Key (ADR 009).
    maxNetworkRetries: 0,
    timeout: options.timeoutMs,
    // Over `fetch`, looked up per call, so the policy's deadline aborts the request (call-scope.server.ts).
    httpClient: Stripe.createFetchHttpClient((input, init) => fetch(input, init)),
    ...(options.emulatorOrigin ? emulatedHost(options.emulatorOrigin) : {}),
  });

  return {
    id: "stripe",
    intentsNeedingSubscription: ["cancel", "change_plan"],
    async createPortal(customer, portalOptions) {
      const { returnUrl, idempotencyKey } = portalOptions;
      let session: Stripe.BillingPortal.Session;
      try {
        session = await stripe.billingPortal.sessions.create(
          {
            customer: customer.providerCustomerId,
            return_url: returnUrl,
            locale: matchLocale(portalOptions.languages, STRIPE_PORTAL_LOCALES),
            ...flowData(portalOptions),
            ...(options.portalConfigurationId ? { configuration: options.portalConfigurationId } : {}),
          },
          idempotencyKey ? { idempotencyKey } : undefined,
        );
      } catch (error) {
        throw toProviderError(error);
      }
      if (!isPortalUrl(session.url)) throw new ProviderError("stripe", "unavailable", "session without a portal url");
      return { url: session.url, deepLinked: true };
    },

    async createCheckout({ plan, owner, providerCustomerId, successUrl, cancelUrl, languages, quantity, trialDays }: CheckoutRequest) {
      const price = options.prices?.[plan];
      if (!price) throw new ProviderError("stripe", "not-configured", "no price id for the plan");
      let session: Stripe.Checkout.Session;
      try {
        // SPEC: the user id goes on the session (client_reference_id, metadata) and on the subscription
        // (subscription_data.metadata), the only place the subscription's own events carry it.
        session = await stripe.checkout.sessions.create({
          mode: "subscription",
          // A per-seat plan buys one unit per member (PROVIDERS.md §5.4); any other plan one.
          line_items: [{ price, quantity: quantity ?? 1 }],
          client_reference_id: owner.id,
          metadata: { organization_id: owner.id },
          // A trial only when asked for (PROVIDERS.md §5.5): Stripe does not enforce one trial per customer itself.
          subscription_data: { metadata: { organization_id: owner.id }, ...(trialDays > 0 ? { trial_period_days: trialDays } : {}) },
          ...(providerCustomerId ? { customer: providerCustomerId } : { customer_email: owner.email }),
          // Stripe fills the template in, so the return names its session (confirmation without waiting).
          success_url: withCheckoutReference(successUrl),
          cancel_url: cancelUrl,
          locale: matchLocale(languages, STRIPE_CHECKOUT_LOCALES),
        });
      } catch (error) {
        throw toProviderError(error);
      }
      if (!isPortalUrl(session.url)) throw new ProviderError("stripe", "unavailable", "session without a checkout url");
      return { url: session.url, reference: session.id };
    },

    checkoutReferenceParam: CHECKOUT_REFERENCE_PARAM,

    async listInvoices({ providerCustomerId }) {
      let page: Stripe.ApiList<Stripe.Invoice>;
      try {
        page = await stripe.invoices.list({ customer: providerCustomerId, limit: 10 });
      } catch (error) {
        throw toProviderError(error);
      }
      // Drafts have no link yet and are not the customer's to see.
      return page.data.flatMap((invoice): ProviderInvoice[] => {
        const status = INVOICE_STATUSES.find((known) => known === invoice.status);
        return status
          ? [
              {
                date: new Date(invoice.created * 1000),
                amount: invoice.total,
                currency: invoice.currency,
                status,
                url: invoice.hosted_invoice_url && isPortalUrl(invoice.hosted_invoice_url) ? invoice.hosted_invoice_url : null,
              },
            ]
          : [];
      });
    },

    async expireOpenCheckouts(owner, { keep, providerCustomerId }) {
      try {
        // A session made with `customer_email` has no customer: found by the buyer's email instead.
        const open = await stripe.checkout.sessions.list({
          status: "open",
          limit: 100,
          ...(providerCustomerId ? { customer: providerCustomerId } : { customer_details: { email: owner.email } }),
        });
        const own = open.data.filter(
          (session) => session.id !== keep && (session.client_reference_id ?? session.metadata?.organization_id ?? session.metadata?.user_id) === owner.id,
        );
        for (const session of own) await stripe.checkout.sessions.expire(session.id);
        return own.length;
      } catch (error) {
        throw toProviderError(error);
      }
    },

    async retrieveCheckout(reference) {
      // A session id is all the user can put in the URL; anything else is no session of ours, and is not sent.
      if (!/^cs_(test|live)_\w{1,200}$/.test(reference)) return null;
      let answer: Stripe.Response<Stripe.Checkout.Session>;
      try {
        answer = await stripe.checkout.sessions.retrieve(reference, { expand: ["subscription"] });
      } catch (error) {
        if (error instanceof errors.StripeInvalidRequestError && error.code === "resource_missing") return null;
        throw toProviderError(error);
      }
      const parsed = stripeRetrievedSession.safeParse(answer);
      if (!parsed.success) throw new ProviderError("stripe", "unavailable", "malformed checkout session");
      const session = parsed.data;
      const subscription = session.subscription ? stripeSubscriptionState(session.subscription) : null;
      const providerDate = new Date(answer.lastResponse?.headers?.date ?? Number.NaN);
      return {
        organizationId: session.client_reference_id ?? session.metadata?.organization_id ?? session.metadata?.user_id ?? null,
        complete: session.status === "complete",
        subscription,
        answeredAt: Number.isNaN(providerDate.getTime()) ? new Date() : providerDate,
      };
    },

    async retrieveSubscription(providerSubscriptionId) {
      let answer: unknown;
      try {
        answer = await stripe.subscriptions.retrieve(providerSubscriptionId);
      } catch (error) {
        const failure = toProviderError(error);
        if (error instanceof errors.StripeInvalidRequestError && error.code === "resource_missing") return null;
        throw failure;
      }
      const parsed = stripeSubscription.safeParse(answer);
      if (!parsed.success) throw new ProviderError("stripe", "unavailable", "malformed subscription");
      return stripeSubscriptionState(parsed.data);
    },

    listSubscriptionPage: (query) => listStripeSubscriptionPage(stripe, query),

    async updateSeats({ providerSubscriptionId, quantity, idempotencyKey }) {
      // The item's id is needed: an `items[]` entry without one ADDS an item instead of changing it (PROVIDERS.md §5.4).
      let itemId: string;
      try {
        const current = await stripe.subscriptions.retrieve(providerSubscriptionId);
        const item = current?.items?.data?.[0];
        if (typeof item?.id !== "string") throw new ProviderError("stripe", "unavailable", "subscription without an item");
        if (item.quantity === quantity) return { quantity };
        itemId = item.id;
      } catch (error) {
        throw toProviderError(error);
      }
      let updated: Stripe.Subscription;
      try {
        // Prorated on the next invoice (Stripe's default, named so a changed default cannot change our bills): ADR 029.
        updated = await stripe.subscriptions.update(
          providerSubscriptionId,
          { items: [{ id: itemId, quantity }], proration_behavior: "create_prorations" },
          idempotencyKey ? { idempotencyKey } : undefined,
        );
      } catch (error) {
        throw toProviderError(error);
      }
      const now = updated?.items?.data?.find((item) => item.id === itemId)?.quantity;
      if (typeof now !== "number") throw new ProviderError("stripe", "unavailable", "subscription without its item quantity");
      return { quantity: now };
    },
  };
}

/**
 * The portal's `flow_data` for a deep link (PROVIDERS.md §4); none for `manage`. Finishing the flow returns
 * the user to the app rather than to Stripe's portal home. The subscription is the caller's (from our database).
 */
function flowData({ intent, subscriptionId, returnUrl }: PortalOptions): { flow_data?: Stripe.BillingPortal.SessionCreateParams.FlowData } {
  const after_completion = { type: "redirect" as const, redirect: { return_url: returnUrl } };
  switch (intent ?? "manage") {
    case "manage":
      return {};
    case "payment_method":
      return { flow_data: { type: "payment_method_update", after_completion } };
    case "cancel":
    case "change_plan": {
      if (!subscriptionId) throw new ProviderError("stripe", "refused", "deep link without a subscription");
      return intent === "cancel"
        ? { flow_data: { type: "subscription_cancel", subscription_cancel: { subscription: subscriptionId }, after_completion } }
        : { flow_data: { type: "subscription_update", subscription_update: { subscription: subscriptionId }, after_completion } };
    }
  }
}

type KnownLocale<T> = T extends `${infer L}` ? (string extends L ? never : L) : never;
type PortalLocale = KnownLocale<Stripe.BillingPortal.SessionCreateParams.Locale>;
type CheckoutLocale = KnownLocale<Stripe.Checkout.SessionCreateParams.Locale>;

/** The portal's locales as stripe-node lists them (the compiler checks both directions); `auto` is the fallback. */
const STRIPE_PORTAL_LOCALES = [
  "bg", "cs", "da", "de", "el", "en", "en-AU", "en-CA", "en-GB", "en-IE", "en-IN", "en-NZ", "en-SG", "es", "es-419",
  "et", "fi", "fil", "fr", "fr-CA", "hr", "hu", "id", "it", "ja", "ko", "lt", "lv", "ms", "mt", "nb", "nl", "pl", "pt",
  "pt-BR", "ro", "ru", "sk", "sl", "sv", "th", "tr", "vi", "zh", "zh-HK", "zh-TW",
] as const satisfies readonly PortalLocale[];
/** Checkout's list differs a little (no regional English but en-GB; hi-IN). */
const STRIPE_CHECKOUT_LOCALES = [
  "bg", "cs", "da", "de", "el", "en", "en-GB", "es", "es-419", "et", "fi", "fil", "fr", "fr-CA", "hi-IN", "hr", "hu",
  "id", "it", "ja", "ko", "lt", "lv", "ms", "mt", "nb", "nl", "pl", "pt", "pt-BR", "ro", "ru", "sk", "sl", "sv", "th",
  "tr", "vi", "zh", "zh-HK", "zh-TW",
] as const satisfies readonly CheckoutLocale[];
// A locale stripe-node adds and these lists miss fails to compile here.
true satisfies Exclude<PortalLocale, "auto" | (typeof STRIPE_PORTAL_LOCALES)[number]> extends never ? true : false;
true satisfies Exclude<CheckoutLocale, "auto" | (typeof STRIPE_CHECKOUT_LOCALES)[number]> extends never ? true : false;

/** The SDK needs host, port and protocol apart (its port defaults to 443 even over http). */
function emulatedHost(origin: string): Pick<Stripe.StripeConfig, "host" | "port" | "protocol"> {
  const url = new URL(origin);
  const protocol = url.protocol === "https:" ? "https" : "http";
  return { host: url.hostname, port: url.port || (protocol === "https" ? 443 : 80), protocol };
}

/** Reduces any SDK error to a kind; Stripe's message (which can name ids or a masked key) stays here. */
function toProviderError(error: unknown): unknown {
  if (!(error instanceof errors.StripeError)) return error;
  if (error instanceof errors.StripeAuthenticationError || error instanceof errors.StripePermissionError) {
    return new ProviderError("stripe", "auth", "api key refused");
  }
  if (error instanceof errors.StripeRateLimitError) {
    return new ProviderError("stripe", "rate-limited", "rate limited", retryAfterSeconds(error.headers?.["retry-after"]));
  }
  if (error instanceof errors.StripeConnectionError) {
    const cause = error.detail;
    const timedOut = typeof cause === "object" && cause !== null && "code" in cause && cause.code === "ETIMEDOUT";
    return timedOut
      ? new ProviderError("stripe", "timeout", "no answer in time")
      : new ProviderError("stripe", "unavailable", "connection failed");
  }
  if (error instanceof errors.StripeInvalidRequestError) {
    if (error.code === "resource_missing" && error.param === "configuration") {
      return new ProviderError("stripe", "not-configured", "portal configuration id unknown");
    }
    if (error.code === "resource_missing" && (error.param === "customer" || error.message.startsWith("No such customer"))) {
      return new ProviderError("stripe", "unknown-customer", "customer unknown");
    }
    // This refusal has no code of its own: its wording is the only signal.
    if (error.message.startsWith("No configuration provided")) {
      return new ProviderError("stripe", "not-configured", "no default portal configuration");
    }
    return new ProviderError("stripe", "refused", "request refused");
  }
  if (error instanceof errors.StripeAPIError) return new ProviderError("stripe", "unavailable", "server error or malformed answer");
  return new ProviderError("stripe", "refused", "request refused");
}

function retryAfterSeconds(header: string | undefined): number | undefined {
  const seconds = Number(header);
  return header && Number.isInteger(seconds) && seconds >= 0 ? seconds : undefined;
}

/** Stripe's own subscription words (PROVIDERS.md §4) in the app's. */
export const STRIPE_SUBSCRIPTION_STATUSES = {
  incomplete: "incomplete",
  incomplete_expired: "expired",
  trialing: "trialing",
  active: "active",
  past_due: "past_due",
  canceled: "canceled",
  unpaid: "unpaid",
  paused: "paused",
} as const satisfies Record<string, SubscriptionStatus>;

async function verifyStripeWebhook(rawBody: Buffer, headers: Headers, secret: string): Promise<VerifiedWebhook | null> {
  const signature = headers.get("stripe-signature");
  if (!signature) return null;
  try {
    // The SDK's verifier: any matching v1 signature over `${t}.${body}`, t within its default 300 s.
    const event: unknown = await Stripe.webhooks.constructEventAsync(rawBody, signature, secret);
    // Stripe signs events only: signed JSON without an event's string id and type is no delivery to record.
    const { id, type } = (event ?? {}) as { id?: unknown; type?: unknown };
    if (typeof id !== "string" || typeof type !== "string") return null;
    return { eventId: id, type, payload: event };
  } catch {
    return null;
  }
}

const stripeId = z.union([z.string(), z.object({ id: z.string() }).transform((object) => object.id)]);
/** The billing owner checkout put on the object: `organization_id`, or `user_id` from a checkout opened before organisations. */
const stripeUserId = z.object({ organization_id: z.string().min(1).optional(), user_id: z.string().min(1).optional() }).nullish();

const stripeSubscription = z.object({
  id: z.string(),
  customer: stripeId,
  status: z.string(),
  cancel_at_period_end: z.boolean().nullish(),
  cancel_at: z.number().nullish(),
  // When it ended (an immediate cancel ends before the period does); `canceled_at` is when the cancel was asked for.
  ended_at: z.number().nullish(),
  trial_end: z.number().nullish(),
  metadata: stripeUserId,
  // Newer API versions keep the period on the items; older ones on the subscription.
  current_period_end: z.number().nullish(),
  items: z
    .object({
      data: z.array(
        z.object({
          price: z.object({ id: z.string() }).nullish(),
          current_period_end: z.number().nullish(),
          quantity: z.number().int().nullish(),
        }),
      ),
    })
    .nullish(),
});

type StripeSubscriptionPayload = z.output<typeof stripeSubscription>;

const date = (seconds: number | null | undefined) => (seconds == null ? null : new Date(seconds * 1000));

/** A Stripe subscription object (an event's or the API's) in the app's words; null for a status the app does not know. */
function stripeSubscriptionState(subscription: StripeSubscriptionPayload): RetrievedSubscription | null {
  const status = STRIPE_SUBSCRIPTION_STATUSES[subscription.status as keyof typeof STRIPE_SUBSCRIPTION_STATUSES];
  if (!status) return null;
  const item = subscription.items?.data[0];
  const periodEnd = item?.current_period_end ?? subscription.current_period_end;
  return {
    organizationId: subscription.metadata?.organization_id ?? subscription.metadata?.user_id ?? null,
    providerCustomerId: subscription.customer,
    subscription: {
      providerSubscriptionId: subscription.id,
      providerPlanId: item?.price?.id ?? null,
      status,
      currentPeriodEnd: date(periodEnd),
      // Newer portals cancel by setting `cancel_at` rather than the flag.
      cancelAtPeriodEnd: Boolean(subscription.cancel_at_period_end) || subscription.cancel_at != null,
      endedAt: date(subscription.ended_at),
      trialEnd: date(subscription.trial_end),
      quantity: item?.quantity ?? null,
    },
  };
}

const stripeCheckoutSession = z.object({
  mode: z.string().nullish(),
  customer: stripeId.nullish(),
  client_reference_id: z.string().nullish(),
  metadata: stripeUserId,
});

/** A retrieved session: the subscription is the object itself when expanded (an id when not). */
const stripeRetrievedSession = z.object({
  status: z.string().nullish(),
  client_reference_id: z.string().nullish(),
  metadata: stripeUserId,
  subscription: z.union([stripeSubscription, z.string()]).nullish().transform((value) => (typeof value === "string" ? null : value)),
});

/** Invoice states shown to the customer; drafts (no link yet) and any unknown word are left out. */
const INVOICE_STATUSES = ["paid", "open", "void", "uncollectible"] as const;

/** The success URL's parameter naming the checkout session. */
const CHECKOUT_REFERENCE_PARAM = "session_id";

/** The success URL with Stripe's `{CHECKOUT_SESSION_ID}` template (literal braces: Stripe replaces them). */
function withCheckoutReference(successUrl: string): string {
  return `${successUrl}${successUrl.includes("?") ? "&" : "?"}${CHECKOUT_REFERENCE_PARAM}={CHECKOUT_SESSION_ID}`;
}

const stripeEvent = z.object({ created: z.number(), data: z.object({ object: z.unknown() }) });

const SUBSCRIPTION_EVENTS: Record<string, "subscription-upserted" | "subscription-deleted"> = {
  "customer.subscription.created": "subscription-upserted",
  "customer.subscription.updated": "subscription-upserted",
  "customer.subscription.paused": "subscription-upserted",
  "customer.subscription.resumed": "subscription-upserted",
  "customer.subscription.deleted": "subscription-deleted",
};

function parseStripeEvent({ type, payload }: VerifiedWebhook): BillingEvent {
  const event = stripeEvent.safeParse(payload);
  if (!event.success) return { kind: "ignored" };
  const occurredAt = new Date(event.data.created * 1000);
  const kind = SUBSCRIPTION_EVENTS[type];

  if (kind) {
    const parsed = stripeSubscription.safeParse(event.data.data.object);
    if (!parsed.success) return { kind: "ignored" };
    const state = stripeSubscriptionState(parsed.data);
    if (!state) return { kind: "ignored" };
    return { kind, occurredAt, ...state };
  }

  if (type === "checkout.session.completed") {
    const parsed = stripeCheckoutSession.safeParse(event.data.data.object);
    if (!parsed.success || parsed.data.mode !== "subscription" || !parsed.data.customer) return { kind: "ignored" };
    const session = parsed.data;
    return {
      kind: "customer-linked",
      organizationId: session.client_reference_id ?? session.metadata?.organization_id ?? session.metadata?.user_id ?? null,
      providerCustomerId: session.customer!,
      occurredAt,
    };
  }
  return { kind: "ignored" };
}

/** The largest page Stripe's list calls give (PROVIDERS.md §5.1). */
const STRIPE_PAGE_SIZE = 100;

/**
 * One page of `GET /v1/subscriptions` for a customer, canceled ones included (`status: "all"`; without it Stripe
 * leaves them out), by cursor (`starting_after`, `has_more`). Each one is read by the webhook parser, as the
 * newest state: the time of the answer.
 */
async function listStripeSubscriptionPage(stripe: Stripe, { providerCustomerId, cursor }: SubscriptionListQuery): Promise<SubscriptionPage> {
  const observedAt = observedNow();
  let page: Stripe.ApiList<Stripe.Subscription>;
  try {
    page = await stripe.subscriptions.list({
      customer: providerCustomerId,
      status: "all",
      limit: STRIPE_PAGE_SIZE,
      ...(cursor ? { starting_after: cursor } : {}),
    });
  } catch (error) {
    throw toProviderError(error);
  }
  if (!Array.isArray(page?.data)) throw new ProviderError("stripe", "unavailable", "list without data");
  const items = listedSubscriptions(page.data, observedAt, (object) =>
    parseStripeEvent({
      eventId: "sync",
      type: "customer.subscription.updated",
      payload: { created: Math.floor(observedAt.getTime() / 1000), data: { object } },
    }),
  );
  return { items, next: page.has_more && page.data.length > 0 ? page.data.at(-1)!.id : null };
}
