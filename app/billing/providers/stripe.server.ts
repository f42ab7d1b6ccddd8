import { Stripe } from "stripe";
import { isPortalUrl } from "./portal-url.ts";
import { ProviderError, type BillingProvider } from "./provider.ts";

export type StripeProviderOptions = {
  secretKey: string;
  /** A `bpc_…` id; without it Stripe uses the account's default portal configuration. */
  portalConfigurationId?: string;
  /** The longest the user waits for the portal, retries included. */
  timeoutMs: number;
  /** Sends the SDK to the local emulator instead of api.stripe.com. */
  emulatorOrigin?: string;
};

const { errors } = Stripe;

/** Stripe: `billingPortal.sessions.create` → the session's `url`. */
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
    async createPortal(customer, { returnUrl, idempotencyKey }) {
      let session: Stripe.BillingPortal.Session;
      try {
        session = await stripe.billingPortal.sessions.create(
          {
            customer: customer.providerCustomerId,
            return_url: returnUrl,
            ...(options.portalConfigurationId ? { configuration: options.portalConfigurationId } : {}),
          },
          idempotencyKey ? { idempotencyKey } : undefined,
        );
      } catch (error) {
        throw toProviderError(error);
      }
      if (!isPortalUrl(session.url)) throw new ProviderError("stripe", "unavailable", "session without a portal url");
      return { url: session.url };
    },
  };
}

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
