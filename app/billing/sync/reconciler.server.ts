import { setTimeout as sleep } from "node:timers/promises";
import type { PrismaClient } from "~/db/generated/client.ts";
import { logEvent } from "~/observability/log.server.ts";
import type { PlanId } from "../plans.ts";
import { ProviderError } from "../providers/provider-error.ts";
import type { BillingProvider, ProviderId } from "../providers/provider.ts";
import { createBillingSync } from "./sync.server.ts";

/** The reconciler's job kind on the job runner (ADR 027): one run per interval across instances, one at a time. */
export const RECONCILE_JOB_KIND = "billing-reconcile";

export type ReconcilerDeps = {
  prisma: PrismaClient;
  providers: Partial<Record<ProviderId, BillingProvider>>;
  plans: Record<ProviderId, Partial<Record<PlanId, string>>>;
  /** Provider calls (list pages) at most in any 60 s, in this instance (BILLING_RECONCILE_CALLS_PER_MINUTE). */
  callsPerMinute: number;
  /** How long one run may last (the interval). */
  runLimitMs: number;
  /** Seats (app/billing/seats/): after a customer's subscriptions are read, a seat count that disagrees with the members is corrected. */
  seats?: { reconcile(organizationId: string): Promise<boolean> };
  /** The budget's clock and wait (tests speed them up). */
  now?: () => number;
  wait?: (ms: number) => Promise<void>;
};

export type ReconcileResult = { customers: number; repaired: number; errors: number; stoppedEarly: boolean };

/**
 * The reconciler (SPEC "Keeping billing state true"): what billing:sync does, in the background, oldest-checked
 * customers first, within a number of provider calls per minute, each repaired difference logged as
 * `billing.reconcile.drift`. `reconcileOnce` is the whole job; the job runner runs it every interval on one
 * instance at a time (`RECONCILE_JOB_KIND`, a pg-boss singleton per interval: see app/start-services.server.ts).
 */
export function createReconciler(deps: ReconcilerDeps) {
  const now = deps.now ?? Date.now;
  const wait = deps.wait ?? ((ms: number) => sleep(ms).then(() => undefined));
  /** Start times of this instance's provider calls in the last minute. */
  const calls: number[] = [];

  async function withinBudget(): Promise<void> {
    for (;;) {
      const windowStart = now() - 60_000;
      while (calls.length > 0 && calls[0]! <= windowStart) calls.shift();
      if (calls.length < deps.callsPerMinute) break;
      await wait(calls[0]! - windowStart);
    }
    calls.push(now());
  }

  const sync = createBillingSync({ prisma: deps.prisma, providers: deps.providers, plans: deps.plans, beforeCall: withinBudget, wait });

  async function reconcileOnce(signal?: AbortSignal): Promise<ReconcileResult> {
    const deadline = Date.now() + deps.runLimitMs;
    let customers = 0;
    let repaired = 0;
    let errors = 0;
    let stoppedEarly = false;
    for (const customer of await sync.customers({ all: true })) {
      if (signal?.aborted || Date.now() >= deadline) {
        stoppedEarly = true;
        break;
      }
      customers += 1;
      try {
        const differences = await sync.syncCustomer(customer);
        for (const difference of differences) {
          // Our own words only (status, plan id, dates): no email, no provider text.
          logEvent("info", "billing.reconcile.drift", {
            provider: difference.provider,
            organizationId: customer.organizationId,
            subscription: difference.subscription,
            field: difference.field,
            before: difference.before,
            after: difference.after,
          });
        }
        repaired += differences.length;
        // The provider's quantity is now in our row: a count that disagrees with the members gets its seat job.
        if (await deps.seats?.reconcile(customer.organizationId)) {
          logEvent("info", "billing.reconcile.seats", { provider: customer.provider, organizationId: customer.organizationId });
        }
      } catch (error) {
        if (!(error instanceof ProviderError)) throw error;
        errors += 1;
        logEvent("warn", "billing.reconcile.provider_failure", { provider: error.provider, reason: error.kind, detail: error.detail });
      }
    }
    logEvent("info", "billing.reconcile.done", { customers, repaired, errors, stoppedEarly });
    return { customers, repaired, errors, stoppedEarly };
  }

  return { reconcileOnce };
}

export type Reconciler = ReturnType<typeof createReconciler>;
