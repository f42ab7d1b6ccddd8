import { randomUUID } from "node:crypto";
import {
  BulkheadRejectedError,
  BrokenCircuitError,
  CircuitState,
  ConsecutiveBreaker,
  ConstantBackoff,
  TaskCancelledError,
  TimeoutStrategy,
  bulkhead,
  circuitBreaker,
  handleWhen,
  retry,
  timeout,
  wrap,
} from "cockatiel";
import { logEvent } from "~/observability/log.server.ts";
import { runInCallScope, type CallScope } from "./call-scope.server.ts";
import { ProviderError, type ProviderFailureKind } from "./provider-error.ts";
import type { BillingProvider } from "./provider.ts";

/** One policy for every provider (ADR 009). */
export type ResiliencePolicy = {
  /** The whole call, retries and backoff included; at the limit the request is aborted. */
  timeoutMs: number;
  /** Extra attempts after an `unavailable` failure (5xx, dropped connection, malformed answer). */
  retries: number;
  retryDelayMs: number;
  /** Consecutive failed calls (after their retries) that open the circuit. */
  breakerFailures: number;
  /** How long an open circuit answers at once before letting one trial call through. */
  breakerCoolDownMs: number;
  /** Calls to this provider in flight at once; one more is refused at once (503, Retry-After) rather than queued. */
  maxConcurrentCalls: number;
};

export const DEFAULT_RESILIENCE: Omit<ResiliencePolicy, "timeoutMs"> = {
  retries: 1,
  retryDelayMs: 100,
  breakerFailures: 5,
  breakerCoolDownMs: 30_000,
  // Above the benchmark's 200 concurrent clients waiting on a slow provider: a bound on sockets, not a throttle.
  maxConcurrentCalls: 256,
};

/** Seconds a refused caller is asked to wait when every slot to the provider is taken: the calls in flight end within a timeout. */
const BUSY_RETRY_AFTER_SECONDS = 1;

/** What says the provider itself is in trouble; a refusal of our request (unknown customer, bad key) does not. */
const PROVIDER_TROUBLE = new Set<ProviderFailureKind>(["timeout", "unavailable", "rate-limited"]);
/** Worth one more attempt at once: the request may never have arrived. A 429 asked us to wait, a timeout spent the budget. */
const RETRYABLE = new Set<ProviderFailureKind>(["unavailable"]);

const isProviderTrouble = (error: unknown) =>
  error instanceof TaskCancelledError || (error instanceof ProviderError && PROVIDER_TROUBLE.has(error.kind));

/**
 * Wraps any provider in the same policy: a deadline over the whole call, one
 * retry where a repeat is harmless, and a circuit breaker. Every provider
 * built by the registry gets it; an adapter only maps its SDK's errors to
 * ProviderError kinds.
 */
export function withResilience(provider: BillingProvider, policy: ResiliencePolicy): BillingProvider {
  const breaker = circuitBreaker(handleWhen(isProviderTrouble), {
    halfOpenAfter: policy.breakerCoolDownMs,
    breaker: new ConsecutiveBreaker(policy.breakerFailures),
  });
  let openedAt = 0;
  breaker.onBreak(() => {
    openedAt = Date.now();
    logEvent("warn", "billing.provider.circuit_open", { provider: provider.id, coolDownMs: policy.breakerCoolDownMs });
  });
  breaker.onHalfOpen(() => logEvent("info", "billing.provider.circuit_half_open", { provider: provider.id }));
  breaker.onReset(() => logEvent("info", "billing.provider.circuit_closed", { provider: provider.id }));

  const retryPolicy = retry(
    handleWhen((error) => error instanceof ProviderError && RETRYABLE.has(error.kind)),
    { maxAttempts: policy.retries, backoff: new ConstantBackoff(policy.retryDelayMs) },
  );

  // No queue: a caller past the bound waits for nothing and hears so at once.
  const inFlight = bulkhead(policy.maxConcurrentCalls, 0);

  function circuitOpen(): ProviderError {
    const remainingMs = openedAt + policy.breakerCoolDownMs - Date.now();
    return new ProviderError(provider.id, "circuit-open", "circuit open after repeated failures", Math.max(1, Math.ceil(remainingMs / 1000)));
  }

  /** One provider call under the policy: budget, safe retry, breaker; `attempt` gets this call's idempotency key. */
  async function guarded<T>(idempotencyKey: string, attempt: (idempotencyKey: string) => Promise<T>): Promise<T> {
    // While the one trial call is out, others answer at once rather than queue behind it.
    if (breaker.state === CircuitState.HalfOpen) throw circuitOpen();

    // A deadline per call, so this call knows whether it was its own budget that ran out.
    // Nothing of a call outlives its return (the SDK has read the answer), so its signal is left as it
    // is: aborting it on every return made a DOMException, with its stack, per call (issue 9's profile).
    const deadline = timeout(policy.timeoutMs, { strategy: TimeoutStrategy.Aggressive, abortOnReturn: false });
    let timedOut = false;
    deadline.onTimeout(() => (timedOut = true));
    let lastAttempt: CallScope | undefined;

    try {
      return await wrap(inFlight, breaker, deadline, retryPolicy).execute(({ signal }) => {
        // The retry policy may wake from its backoff after the deadline: send nothing then.
        if (signal.aborted) throw new TaskCancelledError();
        lastAttempt = { signal };
        return runInCallScope(lastAttempt, () => attempt(idempotencyKey));
      });
    } catch (error) {
      if (error instanceof BrokenCircuitError) throw circuitOpen();
      if (error instanceof BulkheadRejectedError) {
        // Our own bound, not the provider's answer: the user hears "busy" like a provider's 429, and the breaker counts nothing.
        throw new ProviderError(provider.id, "rate-limited", "too many calls to the provider in flight", BUSY_RETRY_AFTER_SECONDS);
      }
      if (timedOut || error instanceof TaskCancelledError) {
        throw new ProviderError(provider.id, "timeout", "no answer within the time budget");
      }
      if (error instanceof ProviderError && error.kind === "rate-limited" && error.retryAfterSeconds === undefined) {
        // The SDK hid the header; the scoped fetch saw it.
        const seconds = lastAttempt?.retryAfterSeconds;
        if (seconds !== undefined) throw new ProviderError(error.provider, error.kind, error.detail, seconds);
      }
      throw error;
    }
  }

  return {
    id: provider.id,
    intentsNeedingSubscription: provider.intentsNeedingSubscription,
    servesPortalFromCache: provider.servesPortalFromCache?.bind(provider),
    createPortal(customer, options) {
      // A link the adapter already holds is no provider call: no budget, no breaker, no failure count.
      if (provider.servesPortalFromCache?.(customer, options)) return provider.createPortal(customer, options);
      return guarded(options.idempotencyKey ?? randomUUID(), (idempotencyKey) =>
        provider.createPortal(customer, { ...options, idempotencyKey }),
      );
    },
    createCheckout(request) {
      return guarded(request.idempotencyKey ?? randomUUID(), (idempotencyKey) =>
        provider.createCheckout({ ...request, idempotencyKey }),
      );
    },
    // A read: a retry is harmless; each page is one call under the budget and the breaker.
    ...(provider.listSubscriptionPage
      ? { listSubscriptionPage: (query) => guarded(randomUUID(), () => provider.listSubscriptionPage!(query)) }
      : {}),
    checkoutReferenceParam: provider.checkoutReferenceParam,
    ...(provider.listInvoices
      ? { listInvoices: (customerId: string) => guarded(randomUUID(), () => provider.listInvoices!(customerId)) }
      : {}),
    ...(provider.expireOpenCheckouts
      ? {
          expireOpenCheckouts: (owner: { id: string; email: string }, options: { keep: string; providerCustomerId?: string }) =>
            guarded(randomUUID(), () => provider.expireOpenCheckouts!(owner, options)),
        }
      : {}),
    ...(provider.retrieveCheckout
      ? { retrieveCheckout: (reference: string) => guarded(randomUUID(), () => provider.retrieveCheckout!(reference)) }
      : {}),
    // A read: safe to retry, no idempotency key needed.
    ...(provider.retrieveSubscription
      ? { retrieveSubscription: (id: string) => guarded(randomUUID(), () => provider.retrieveSubscription!(id)) }
      : {}),
  };
}
