import type { ProviderId } from "./provider.ts";

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
