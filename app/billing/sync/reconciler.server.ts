import { randomUUID } from "node:crypto";
import { setTimeout as sleep } from "node:timers/promises";
import type { PrismaClient } from "~/db/generated/client.ts";
import { logEvent } from "~/observability/log.server.ts";
import type { PlanId } from "../plans.ts";
import { ProviderError } from "../providers/provider-error.ts";
import type { BillingProvider, ProviderId } from "../providers/provider.ts";
import { createBillingSync } from "./sync.server.ts";

export const RECONCILE_LEASE = "billing-reconcile";

export type ReconcilerDeps = {
  prisma: PrismaClient;
  providers: Partial<Record<ProviderId, BillingProvider>>;
  plans: Record<ProviderId, Partial<Record<PlanId, string>>>;
  /** Provider calls (list pages) at most in any 60 s, in this instance (BILLING_RECONCILE_CALLS_PER_MINUTE). */
  callsPerMinute: number;
  /** How long one run may last, and how long its lease holds without renewal (the interval). */
  runLimitMs: number;
  /** This instance's name on the lease (a random one by default). */
  holder?: string;
  /** The budget's clock and wait (tests speed them up). */
  now?: () => number;
  wait?: (ms: number) => Promise<void>;
};

export type ReconcileResult =
  | { ran: false }
  | { ran: true; customers: number; repaired: number; errors: number; stoppedEarly: boolean };

/**
 * The reconciler (SPEC "Keeping billing state true"): what billing:sync does, in the background, one instance
 * at a time across instances (a lease row in the database), oldest-checked customers first, within a number of
 * provider calls per minute, each repaired difference logged as `billing.reconcile.drift`. `reconcileOnce` is
 * the whole job; `startReconcilerSchedule` below runs it every interval, and a job runner can run it instead.
 */
export function createReconciler(deps: ReconcilerDeps) {
  const holder = deps.holder ?? randomUUID();
  const now = deps.now ?? Date.now;
  const wait = deps.wait ?? ((ms: number) => sleep(ms).then(() => undefined));
  const leaseMs = Math.max(deps.runLimitMs, 60_000);
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

  /** Takes (or renews) the lease when it is free, expired or already ours; true when this instance holds it. */
  async function takeLease(): Promise<boolean> {
    const expiresAt = new Date(Date.now() + leaseMs);
    const taken = await deps.prisma.$executeRaw`
      INSERT INTO "JobLease" ("name", "holder", "expiresAt") VALUES (${RECONCILE_LEASE}, ${holder}, ${expiresAt})
      ON CONFLICT ("name") DO UPDATE SET "holder" = EXCLUDED."holder", "expiresAt" = EXCLUDED."expiresAt"
      WHERE "JobLease"."expiresAt" < now() OR "JobLease"."holder" = EXCLUDED."holder"`;
    return taken === 1;
  }

  async function releaseLease(): Promise<void> {
    await deps.prisma.jobLease.deleteMany({ where: { name: RECONCILE_LEASE, holder } });
  }

  async function reconcileOnce(signal?: AbortSignal): Promise<ReconcileResult> {
    if (!(await takeLease())) return { ran: false };
    const deadline = Date.now() + deps.runLimitMs;
    let customers = 0;
    let repaired = 0;
    let errors = 0;
    let stoppedEarly = false;
    try {
      for (const customer of await sync.customers({ all: true })) {
        if (signal?.aborted || Date.now() >= deadline || !(await takeLease())) {
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
        } catch (error) {
          if (!(error instanceof ProviderError)) throw error;
          errors += 1;
          logEvent("warn", "billing.reconcile.provider_failure", { provider: error.provider, reason: error.kind, detail: error.detail });
        }
      }
    } finally {
      await releaseLease();
    }
    logEvent("info", "billing.reconcile.done", { customers, repaired, errors, stoppedEarly });
    return { ran: true, customers, repaired, errors, stoppedEarly };
  }

  return { reconcileOnce, holder };
}

export type Reconciler = ReturnType<typeof createReconciler>;

/**
 * Runs the reconciler every `intervalMs` (the first run one interval after start) until stopped; a run that
 * fails is logged and the next one comes as planned. The returned function stops it and waits for a run in
 * progress to end at its next customer.
 */
export function startReconcilerSchedule(reconciler: Reconciler, intervalMs: number): () => Promise<void> {
  const stopping = new AbortController();
  let running: Promise<unknown> = Promise.resolve();
  let timer: NodeJS.Timeout;
  const schedule = () => {
    timer = setTimeout(() => {
      running = reconciler
        .reconcileOnce(stopping.signal)
        .catch((error: unknown) => logEvent("error", "billing.reconcile.failed", { errorName: error instanceof Error ? error.name : typeof error }))
        .finally(() => {
          if (!stopping.signal.aborted) schedule();
        });
    }, intervalMs);
    timer.unref();
  };
  schedule();
  return async () => {
    stopping.abort();
    clearTimeout(timer);
    await running;
  };
}
