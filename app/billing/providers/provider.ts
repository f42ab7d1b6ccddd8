/**
 * The one small interface every payment provider implements. Adding a
 * provider means one module beside this one and one line in registry.server.ts.
 */
export const PROVIDER_IDS = ["stripe", "polar", "lemonsqueezy"] as const;
export type ProviderId = (typeof PROVIDER_IDS)[number];

export const PROVIDER_NAMES: Record<ProviderId, string> = {
  stripe: "Stripe",
  polar: "Polar",
  lemonsqueezy: "Lemon Squeezy",
};

export type PortalCustomer = { providerCustomerId: string };
export type PortalOptions = {
  returnUrl: string;
  /** The same for every attempt of one call, so a provider that deduplicates by key (Stripe) sees a retry as one request. */
  idempotencyKey?: string;
};

export interface BillingProvider {
  readonly id: ProviderId;
  /** Resolves to the hosted portal URL, or throws a ProviderError. */
  createPortal(customer: PortalCustomer, options: PortalOptions): Promise<{ url: string }>;
  /** True when createPortal would answer from the adapter's own cache, without calling the provider. */
  servesPortalFromCache?(customer: PortalCustomer): boolean;
}

/**
 * Why a provider call failed, as far as the app needs to know. The raw
 * provider message never travels further than the adapter: it is reduced to
 * one of these kinds (and an optional Retry-After) so nothing unsafe reaches
 * a response or a log line.
 */
export type ProviderFailureKind =
  | "not-configured" // the provider account is not set up for portals (e.g. Stripe's default portal configuration)
  | "unknown-customer" // the provider does not know this customer id
  | "no-portal" // the customer exists but has no portal (Lemon Squeezy: never subscribed)
  | "auth" // our API key was refused
  | "rate-limited"
  | "timeout"
  | "unavailable" // network failure, 5xx, malformed answer
  | "circuit-open" // the provider kept failing: not called again until a cool-down has passed
  | "refused"; // any other 4xx

export class ProviderError extends Error {
  override readonly name = "ProviderError";
  constructor(
    readonly provider: ProviderId,
    readonly kind: ProviderFailureKind,
    /** A safe, fixed description for logs: never the provider's own text. */
    readonly detail: string,
    readonly retryAfterSeconds?: number,
  ) {
    super(`${provider}: ${kind} (${detail})`);
  }
}
