import type { z } from "zod";
import type { PlanId } from "../plans.ts";
import type { SubscriptionStatus } from "../subscription-status.ts";
import type { PROVIDER_MODULES } from "./registry.server.ts";

/**
 * What a payment provider is to the app. Each provider is ONE module
 * (stripe.server.ts, polar.server.ts, lemonsqueezy.server.ts) exporting a
 * `ProviderModule`: its id, name, environment variables and operations.
 * The provider list, the configuration schema and the registry are derived
 * from `PROVIDER_MODULES` in registry.server.ts, so a fourth provider is one
 * module there plus one line in that list (and a value in the database enum).
 */
export type ProviderId = (typeof PROVIDER_MODULES)[number]["id"];

// Kept here so existing importers (pages' loaders, the emulator) find them where they always did.
export { PROVIDER_IDS, PROVIDER_NAMES } from "./registry.server.ts";
export { ProviderError, type ProviderFailureKind } from "./provider-error.ts";

export type PortalCustomer = { providerCustomerId: string };

/** Where in the portal the user wants to land (SPEC "Beyond the portal": deep links). */
export const PORTAL_INTENTS = ["manage", "payment_method", "cancel", "change_plan"] as const;
export type PortalIntent = (typeof PORTAL_INTENTS)[number];

/** What the portal should open: the intent (default `manage`), and the user's own subscription at this provider (from our database). */
export type PortalTarget = { intent?: PortalIntent; subscriptionId?: string };

export type PortalOptions = PortalTarget & {
  returnUrl: string;
  /** The user's languages, most preferred first (Accept-Language); a provider that takes a locale picks from them. */
  languages?: readonly string[];
  /** The same for every attempt of one call, so a provider that deduplicates by key (Stripe) sees a retry as one request. */
  idempotencyKey?: string;
};

export type CheckoutRequest = {
  plan: PlanId;
  /** The billing owner: the organisation's id (checkout carries it, webhooks link by it) and the buyer's email. */
  owner: { id: string; email: string };
  /** The user's existing customer at this provider, if any (Stripe reuses it instead of creating another). */
  providerCustomerId?: string;
  /** Where the provider sends the user after paying. */
  successUrl: string;
  /** Where the provider's "back" link leads. */
  cancelUrl: string;
  /** The same for every attempt of one call (see PortalOptions). */
  idempotencyKey?: string;
  /** The user's languages, most preferred first (see PortalOptions). */
  languages?: readonly string[];
  /**
   * Days of free trial this checkout starts: the plan's trial days for an owner who never had a trial, else 0, which
   * turns the trial off even where the provider's product has one (SPEC "Plans and checkout": one trial per owner).
   */
  trialDays: number;
  /**
   * Seats, for a per-seat plan (SPEC "Organisations and seats": the member count). Absent for other plans: the
   * provider's own default (Stripe `quantity: 1`; Polar and Lemon Squeezy send no quantity at all).
   */
  quantity?: number;
};

/** A new seat count for a per-seat subscription (PROVIDERS.md §5.4). */
export type SeatsUpdate = {
  providerSubscriptionId: string;
  /** The whole new count (not a difference), so sending it twice is harmless. */
  quantity: number;
  /** The same for every attempt of one call (Stripe deduplicates by it). */
  idempotencyKey?: string;
};

export type PortalLink = { url: string; deepLinked: boolean };

/** A provider's API, built once at start from its settings. Failures are thrown as ProviderError. */
export interface BillingProvider {
  readonly id: ProviderId;
  /**
   * Resolves to the hosted portal URL; `deepLinked` is false when the provider has no page for the intent and
   * the URL opens its portal home instead (Polar).
   */
  createPortal(customer: PortalCustomer, options: PortalOptions): Promise<PortalLink>;
  /** Which intents need the user's subscription id at this provider (Stripe's cancel; Lemon Squeezy's every deep link). */
  readonly intentsNeedingSubscription: readonly PortalIntent[];
  /** Resolves to the provider's hosted checkout URL, carrying the user's id so webhooks can link it. */
  createCheckout(request: CheckoutRequest): Promise<{ url: string; /** The provider's id for the checkout (Stripe `cs_…`), when it has one. */ reference?: string }>;
  /** True when createPortal would answer from the adapter's own cache, without calling the provider. */
  servesPortalFromCache?(customer: PortalCustomer, target?: PortalTarget): boolean;
  /**
   * One page of a customer's subscriptions, every status, as the provider's list call answers it (billing:sync and
   * the reconciler; SPEC "Keeping billing state true"). One provider call per page; `next` is null on the last.
   */
  listSubscriptionPage?(query: SubscriptionListQuery): Promise<SubscriptionPage>;
  /**
   * The subscription's current state at the provider (Stripe `subscriptions.retrieve`); null when the provider does
   * not know it. Asked when two events carry the same provider time and cannot be ordered.
   */
  retrieveSubscription?(providerSubscriptionId: string): Promise<RetrievedSubscription | null>;
  /**
   * The checkout the success URL names (Stripe `checkout.sessions.retrieve` with the subscription expanded), for
   * confirming it on return without waiting for the webhook; null when the provider does not know it.
   */
  retrieveCheckout?(reference: string, owner: CheckoutOwner): Promise<RetrievedCheckout | null>;
  /**
   * Expires the user's checkouts still open at the provider (Stripe `checkout.sessions.list` + `expire`), so a second
   * tab's checkout cannot also be paid; answers how many. Providers without such a call leave theirs to expire.
   */
  expireOpenCheckouts?(owner: { id: string; email: string }, options: { keep: string; providerCustomerId?: string }): Promise<number>;
  /**
   * The customer's recent invoices or receipts, newest first (Stripe `invoices.list`, Polar `orders.list`, Lemon
   * Squeezy `listSubscriptionInvoices` per subscription: it has no customer filter); drafts left out.
   */
  listInvoices?(customer: InvoiceOwner): Promise<ProviderInvoice[]>;
  /** The success URL's query parameter that carries the checkout reference (Stripe `session_id`, Polar `checkout_id`, Lemon Squeezy `order_id`). */
  readonly checkoutReferenceParam?: string;
  /**
   * Sets a per-seat subscription's quantity at the provider (Stripe: the subscription item's quantity, prorated;
   * Lemon Squeezy: the subscription item's quantity; Polar: `seats`). Resolves to the quantity the provider now
   * shows. Failures are thrown as ProviderError, like every call.
   */
  updateSeats?(update: SeatsUpdate): Promise<{ quantity: number }>;
}

export type SubscriptionListQuery = {
  providerCustomerId: string;
  /** The owner's email: Lemon Squeezy lists by store and email (it has no customer filter), then keeps this customer's. */
  email: string;
  /** Null for the first page, then the page's `next`. */
  cursor: string | null;
};

/** A subscription from a provider's list call, read by the same parser as its webhooks. */
export type ListedSubscription = Extract<BillingEvent, { kind: "subscription-upserted" | "subscription-deleted" }>;

export type SubscriptionPage = { items: ListedSubscription[]; next: string | null };

/** An invoice or receipt as the account page lists it. */
export type ProviderInvoice = {
  date: Date;
  /** In the currency's minor unit (cents). */
  amount: number;
  /** ISO 4217, lower or upper case as the provider gives it. */
  currency: string;
  status: "paid" | "open" | "void" | "uncollectible" | "refunded";
  /** The provider's hosted invoice or receipt page; null when it has none yet. */
  url: string | null;
};

/** Whose return is being confirmed: Lemon Squeezy's order carries no custom data, only the buyer's email to check. */
export type CheckoutOwner = { id: string; email: string };

/** What a provider needs to list an owner's invoices. */
export type InvoiceOwner = { providerCustomerId: string; /** The owner's subscriptions at this provider, newest first. */ providerSubscriptionIds: string[] };

export type RetrievedCheckout = {
  /**
   * The organisation the checkout was opened for (Stripe `client_reference_id`, else `metadata.organization_id`;
   * Polar `external_customer_id`; Lemon Squeezy: the owner's when the order's email is the buyer's, else null).
   */
  organizationId: string | null;
  /** Paid (or a trial started): the subscription exists. */
  complete: boolean;
  /** The subscription it made, once complete. */
  subscription: RetrievedSubscription | null;
  /** The provider's clock when it answered (its `Date` header); the state is at least this new. */
  answeredAt: Date;
};

/** Every provider's settings share these; each module adds its own (server, portal configuration, store...). */
export type ProviderSettingsBase = {
  apiKey?: string;
  /** Verifies `POST /webhooks/<provider>`; without it (and outside emulation) that endpoint is not live. */
  webhookSecret?: string;
  /** The provider's id for each plan (price, product or variant id). */
  plans: Partial<Record<PlanId, string>>;
};

/** A webhook whose signature checked out, reduced to what the ledger needs and the payload for parsing. */
export type VerifiedWebhook = {
  /** Unique per provider: Stripe's `evt_…`, Polar's `webhook-id`, Lemon Squeezy's body hash. */
  eventId: string;
  type: string;
  payload: unknown;
};

export type SubscriptionState = {
  providerSubscriptionId: string;
  /** The provider's price / product / variant id; the app maps it to a plan through its settings. */
  providerPlanId: string | null;
  status: SubscriptionStatus;
  currentPeriodEnd: Date | null;
  cancelAtPeriodEnd: boolean;
  /** The provider's own end (Stripe/Polar `ended_at`, Lemon Squeezy `ends_at` once expired); null or absent while it runs. */
  endedAt?: Date | null;
  /** When the trial ends; null or absent without one. */
  trialEnd?: Date | null;
  /** Seats (the provider's quantity); null or absent when the provider says none. */
  quantity?: number | null;
};

/** A subscription as the provider's API answers for it now (SPEC: two events in one second, confirmation without waiting). */
export type RetrievedSubscription = {
  /** The organisation id checkout put on it (metadata / external id / custom data), when there is one. */
  organizationId: string | null;
  providerCustomerId: string;
  subscription: SubscriptionState;
};

/** A provider event in the app's own words; everything the webhook service acts on. */
export type BillingEvent =
  | {
      kind: "subscription-upserted" | "subscription-deleted";
      /** The organisation id that checkout put on the subscription, when the payload carries one. */
      organizationId: string | null;
      providerCustomerId: string;
      subscription: SubscriptionState;
      /** The provider's time for this state: an older one never overwrites a newer one. */
      occurredAt: Date;
    }
  | { kind: "customer-linked"; organizationId: string | null; providerCustomerId: string; occurredAt: Date }
  | { kind: "ignored" };

export type ProviderContext = {
  /** The longest a user waits for one provider call, retries included. */
  timeoutMs: number;
  /** Set in emulated mode: the SDK talks to the local emulator. */
  emulatorOrigin?: string;
};

export interface ProviderModule<Id extends string, Env extends z.ZodRawShape, Settings extends ProviderSettingsBase> {
  readonly id: Id;
  /** How people call it ("Lemon Squeezy"). */
  readonly name: string;
  /** This provider's environment variables: a zod fragment merged into the app's configuration schema. */
  readonly env: Env;
  /** The variable holding the API key: without it, outside production, payments are emulated. */
  readonly apiKeyVariable: keyof Env & string;
  /** Besides the API key, what production needs when this provider is active (webhook secret, plan ids...). */
  readonly requiredInProduction: readonly (keyof Env & string)[];
  /** A key of the right shape for the emulator, which checks keys' form but not their value. */
  readonly emulatedApiKey: string;
  /** Reads this provider's settings from the parsed environment (emulated: the demo plan ids fill gaps). */
  settings(env: z.output<z.ZodObject<Env>>, context: { production: boolean; emulated: boolean }): Settings;
  create(settings: Settings & { apiKey: string }, context: ProviderContext): BillingProvider;
  readonly webhooks: {
    /**
     * Checks the signature over the raw body with the provider's own scheme;
     * null when it does not check out (bad or missing signature, stale timestamp).
     */
    verify(rawBody: Buffer, headers: Headers, secret: string): Promise<VerifiedWebhook | null>;
    /** The event in the app's words; types the app does not act on are "ignored". */
    parse(event: VerifiedWebhook): BillingEvent;
  };
}
