import { logEvent } from "~/observability/log.server.ts";
import { NO_LIMIT, type RateLimit } from "~/rate-limits/rate-limits.server.ts";
import type { BillingAction } from "./portal-failures.ts";
import type { PortalFailure } from "./portal.server.ts";
import { ProviderError } from "./providers/provider.ts";

type ProviderCallFailure = Extract<PortalFailure, { kind: "too-many-requests" | "provider-failure" }>;

export type ProviderCallResult<T> =
  | { ok: true; value: T; latencyMs: number }
  /** `latencyMs` is null when the call was refused before it reached the provider. */
  | { ok: false; failure: ProviderCallFailure; latencyMs: number | null };

/**
 * One provider call on a user's behalf, the same for the portal and the
 * checkout: counted against the user's provider calls (SPEC "Rate limits";
 * a call the adapter answers from its cache is `free`), timed for the
 * billing activity, and a ProviderError reduced to a failure, logged with
 * the adapter's fixed phrase only, never the provider's own text.
 */
export async function callProvider<T>(options: {
  action: BillingAction | "invoices";
  userId: string;
  call: () => Promise<T>;
  limit?: RateLimit;
  free?: boolean;
}): Promise<ProviderCallResult<T>> {
  if (!options.free) {
    const limited = await (options.limit ?? NO_LIMIT).consume([options.userId]);
    if (limited) return { ok: false, failure: { kind: "too-many-requests", ...limited }, latencyMs: null };
  }
  const started = performance.now();
  try {
    return { ok: true, value: await options.call(), latencyMs: performance.now() - started };
  } catch (error) {
    if (!(error instanceof ProviderError)) throw error;
    const latencyMs = performance.now() - started;
    logEvent("warn", `billing.${options.action}.provider_failure`, {
      provider: error.provider,
      reason: error.kind,
      detail: error.detail,
      userId: options.userId,
    });
    const failure: ProviderCallFailure = {
      kind: "provider-failure",
      provider: error.provider,
      reason: error.kind,
      retryAfterSeconds: error.retryAfterSeconds,
    };
    return { ok: false, failure, latencyMs };
  }
}
