import { PolarClientError, PolarNetworkError, PolarRateLimitError, PolarServerError } from "@polar-sh/sdk";
import { createPolar, errors } from "@polar-sh/sdk/2026-10";
import { isPortalUrl } from "./portal-url.ts";
import { ProviderError, type BillingProvider } from "./provider.ts";

export type PolarProviderOptions = {
  accessToken: string;
  server: "sandbox" | "production";
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
    async createPortal(customer, { returnUrl }) {
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
      return { url: session.customer_portal_url };
    },
  };
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
