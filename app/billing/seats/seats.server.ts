import { randomUUID } from "node:crypto";
import type { PrismaClient } from "~/db/generated/client.ts";
import { enqueueJob, PermanentJobError, type ClaimedJob, type JobWriter } from "~/jobs/jobs.server.ts";
import { logEvent } from "~/observability/log.server.ts";
import { rowData } from "../activity.server.ts";
import { PLANS } from "../plans.ts";
import { ProviderError } from "../providers/provider-error.ts";
import type { BillingProvider, ProviderId } from "../providers/provider.ts";
import { LIVE_SUBSCRIPTION_STATUSES } from "../subscription-status.ts";

/**
 * Seats follow members (SPEC "Organisations and seats", ADR 029): every membership change enqueues a durable job in
 * the change's own transaction; the job counts the organisation's members now and sets the live per-seat
 * subscription's quantity at its provider when they differ. A provider failure throws, so the job runner retries it
 * with backoff; the reconciler enqueues the same job when it finds a count that disagrees.
 */
export const SEATS_JOB_KIND = "billing.seats";

/** A burst of membership changes (an import, several invitations accepted at once) is one provider call: the jobs wait this long, and each reads the count as it is then. */
export const SEATS_DEBOUNCE_MS = 2_000;

/** The catalogue's per-seat plans (read, never edited here). */
const PER_SEAT_PLANS: string[] = PLANS.filter((plan) => plan.perSeat).map((plan) => plan.id);

const isPayload = (payload: unknown): payload is { organizationId: string } =>
  typeof payload === "object" && payload !== null && typeof (payload as { organizationId?: unknown }).organizationId === "string";

/**
 * The hook the organisations code calls inside each membership transaction (added, removed, left): the job is
 * written with the change, so a change that commits always has its seat update coming, and one that rolls back
 * has none. One job per change (its own key); whichever runs first sets the latest count, the others find nothing to do.
 */
export async function onMembershipChanged(tx: JobWriter, organizationId: string, options: { debounceMs?: number } = {}): Promise<void> {
  await enqueueJob(tx, {
    kind: SEATS_JOB_KIND,
    dedupKey: `seats:${organizationId}:${randomUUID()}`,
    payload: { organizationId },
    runAt: new Date(Date.now() + (options.debounceMs ?? SEATS_DEBOUNCE_MS)),
  });
}

export type SeatSyncDeps = {
  prisma: PrismaClient;
  /** The providers the app holds an API for (active and legacy), by id: a subscription is changed where it lives. */
  providers: Partial<Record<ProviderId, BillingProvider>>;
};

export type SeatSyncOutcome =
  | { kind: "no-per-seat-subscription" }
  | { kind: "in-step"; quantity: number }
  | { kind: "changed"; from: number | null; to: number };

export function createSeatSync(deps: SeatSyncDeps) {
  const { prisma } = deps;

  /** The organisation's live per-seat subscription, if it has one. */
  async function perSeatSubscription(organizationId: string) {
    return prisma.subscription.findFirst({
      where: { organizationId, plan: { in: PER_SEAT_PLANS }, status: { in: [...LIVE_SUBSCRIPTION_STATUSES] }, cancelAtPeriodEnd: false },
      orderBy: { createdAt: "desc" },
      select: { id: true, provider: true, providerSubscriptionId: true, plan: true, quantity: true },
    });
  }

  /** Members are seats; an organisation always has at least its owner. */
  async function memberCount(organizationId: string): Promise<number> {
    return Math.max(1, await prisma.membership.count({ where: { organizationId } }));
  }

  /**
   * Brings the provider's quantity to the member count. The stored quantity is moved first, only if it still holds
   * what was read (so two jobs for one organisation make one call and one activity line), and moved back if the
   * provider fails; the failure is thrown for the runner to retry.
   */
  async function sync(organizationId: string, attemptKey: string): Promise<SeatSyncOutcome> {
    const subscription = await perSeatSubscription(organizationId);
    if (!subscription) return { kind: "no-per-seat-subscription" };
    const target = await memberCount(organizationId);
    const from = subscription.quantity;
    if (from === target) return { kind: "in-step", quantity: target };

    const claimed = await prisma.$executeRaw`
      UPDATE "Subscription" SET "quantity" = ${target}, "updatedAt" = now()
      WHERE "id" = ${subscription.id} AND "quantity" IS NOT DISTINCT FROM ${from}`;
    // Another job (or a webhook) moved it meanwhile: that one carries the change; this job has nothing left to do.
    if (claimed === 0) return { kind: "in-step", quantity: target };

    const provider = deps.providers[subscription.provider];
    try {
      if (!provider?.updateSeats) throw new PermanentJobError("provider-not-available");
      // The policy's own retry resends this key, so Stripe sees one request; each job attempt has its own.
      await provider.updateSeats({ providerSubscriptionId: subscription.providerSubscriptionId, quantity: target, idempotencyKey: `seats-${attemptKey}-${target}` });
    } catch (error) {
      await prisma.$executeRaw`
        UPDATE "Subscription" SET "quantity" = ${from} WHERE "id" = ${subscription.id} AND "quantity" = ${target}`;
      if (error instanceof ProviderError) {
        // The adapter's fixed words only, never the provider's text.
        logEvent("warn", "billing.seats.provider_failure", { provider: error.provider, reason: error.kind, detail: error.detail, organizationId });
        // A subscription the provider will not change (cancelled meanwhile, not seat-based) is not helped by waiting.
        if (error.kind === "refused" || error.kind === "unknown-customer") throw new PermanentJobError(`provider-refused:${error.provider}`);
      }
      throw error;
    }
    await prisma.billingActivity.create({
      data: rowData({
        organizationId,
        provider: subscription.provider,
        action: "subscription_change",
        intent: subscription.plan,
        outcome: `seats_changed:${from ?? 0}-${target}`,
      }),
    });
    logEvent("info", "billing.seats.changed", { provider: subscription.provider, organizationId, from, to: target });
    return { kind: "changed", from, to: target };
  }

  return {
    sync,
    /** The job runner's handler for SEATS_JOB_KIND. */
    async handleJob(payload: unknown, job: ClaimedJob): Promise<void> {
      if (!isPayload(payload)) throw new PermanentJobError("bad-payload");
      // A key per attempt: Stripe keeps a failed request's answer under its key, so a later attempt needs its own.
      await sync(payload.organizationId, `${job.id}-${job.attempts}`);
    },
    /**
     * For the reconciler, after it has read an organisation's subscriptions from the provider: when the live
     * per-seat subscription's quantity and the member count disagree, the seat job is enqueued (at once). True when it was.
     */
    async reconcile(organizationId: string): Promise<boolean> {
      const subscription = await perSeatSubscription(organizationId);
      if (!subscription || subscription.quantity === (await memberCount(organizationId))) return false;
      await onMembershipChanged(prisma, organizationId, { debounceMs: 0 });
      return true;
    },
  };
}

export type SeatSync = ReturnType<typeof createSeatSync>;
