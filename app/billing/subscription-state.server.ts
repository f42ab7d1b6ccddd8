import { randomUUID } from "node:crypto";
import type { PrismaClient } from "~/db/generated/client.ts";
import { logEvent } from "~/observability/log.server.ts";
import { rowData } from "./activity.server.ts";
import type { PlanId } from "./plans.ts";
import type { BillingEvent, ProviderId } from "./providers/provider.ts";
import { subscriptionChange, type SubscriptionFacts } from "./subscription-change.ts";

export type Transaction = Parameters<Parameters<PrismaClient["$transaction"]>[0]>[0];

export type ApplyOutcome = "processed" | "ignored" | "unlinked";

/** How `applyBillingEvent` treats an event at the same provider time as the stored state. */
export type ApplyOrder = { onTie: "apply" | "ask" };

/** A subscription change that was applied, for what follows from it in the same transaction (billing mail). */
export type AppliedSubscriptionChange = {
  /** The billing owner (organisation) the subscription belongs to. */
  organizationId: string;
  provider: ProviderId;
  providerSubscriptionId: string;
  plan: PlanId | null;
  /** The stored state before this change; null when the subscription is new. */
  previous: { status: string; cancelAtPeriodEnd: boolean } | null;
  next: { status: string; cancelAtPeriodEnd: boolean; currentPeriodEnd: Date | null };
};

/** Called in the transaction of each applied change. */
export type OnSubscriptionApplied = (tx: Transaction, change: AppliedSubscriptionChange) => Promise<void>;

/** Thrown out of the transaction (rolling it back) when an event cannot be ordered against the stored state. */
export class SameProviderTime extends Error {
  override name = "SameProviderTime";
}

/**
 * The one path a subscription's state takes into the database, for webhooks, for a checkout confirmed on return
 * and for sync from the providers, inside the caller's transaction. A stale event (older than the stored state)
 * changes nothing at all: not the subscription, not the user's Customer link, not the activity. An event at the
 * same provider time as the stored state is applied (`onTie: "apply"`: a provider's own answer is the newest
 * state) or thrown back as SameProviderTime (`"ask"`) for the caller to ask the provider.
 */
export async function applyBillingEvent(
  tx: Transaction,
  provider: ProviderId,
  event: BillingEvent,
  plans: Record<ProviderId, Partial<Record<PlanId, string>>>,
  order: ApplyOrder = { onTie: "apply" },
  onApplied?: OnSubscriptionApplied,
): Promise<ApplyOutcome> {
  if (event.kind === "ignored") return "ignored";
  const owner = await ownerOf(tx, provider, event.providerCustomerId, event.organizationId);
  if (!owner) return "unlinked";
  if (event.kind === "customer-linked") {
    await owner.link();
    return "processed";
  }

  const { subscription } = event;
  const plan = planOf(plans, provider, subscription.providerPlanId);
  const applyTie = order.onTie === "apply";
  // Entitlements (app/entitlements/): a trial, once seen, stays on record (one trial per billing owner), and a
  // past-due grace counts from the provider time of the transition into past_due (kept by the update below).
  const hadTrial = subscription.status === "trialing" || Boolean(subscription.trialEnd);
  const pastDueSince = subscription.status === "past_due" ? event.occurredAt : null;
  // The stored state, locked until this transaction ends: what the change is compared with (billing activity),
  // and whether this event is at the same provider time.
  const [before] = await tx.$queryRaw<(SubscriptionFacts & { providerUpdatedAt: Date })[]>`
    SELECT "status", "plan", "cancelAtPeriodEnd", "currentPeriodEnd", "providerUpdatedAt" FROM "Subscription"
    WHERE "provider" = ${provider}::"PaymentProvider" AND "providerSubscriptionId" = ${subscription.providerSubscriptionId}
    FOR UPDATE`;
  // One statement, so two events for one subscription cannot interleave: the row is written only when
  // this event's time is newer than the stored state's (or the same, when a tie is applied).
  const written = await tx.$executeRaw`
    INSERT INTO "Subscription" ("id", "provider", "providerSubscriptionId", "providerCustomerId", "plan", "providerPlanId",
      "status", "currentPeriodEnd", "cancelAtPeriodEnd", "endedAt", "trialEnd", "hadTrial", "pastDueSince", "quantity",
      "providerUpdatedAt", "createdAt", "updatedAt", "organizationId")
    VALUES (${randomUUID()}, ${provider}::"PaymentProvider", ${subscription.providerSubscriptionId}, ${event.providerCustomerId},
      ${plan}, ${subscription.providerPlanId}, ${subscription.status}::"SubscriptionStatus", ${subscription.currentPeriodEnd},
      ${subscription.cancelAtPeriodEnd}, ${subscription.endedAt ?? null}, ${subscription.trialEnd ?? null}, ${hadTrial},
      ${pastDueSince}, ${subscription.quantity ?? null}, ${event.occurredAt}, now(), now(), ${owner.organizationId})
    ON CONFLICT ("provider", "providerSubscriptionId") DO UPDATE SET
      "providerCustomerId" = EXCLUDED."providerCustomerId", "plan" = EXCLUDED."plan",
      "providerPlanId" = EXCLUDED."providerPlanId", "status" = EXCLUDED."status",
      "currentPeriodEnd" = EXCLUDED."currentPeriodEnd", "cancelAtPeriodEnd" = EXCLUDED."cancelAtPeriodEnd",
      "endedAt" = EXCLUDED."endedAt", "trialEnd" = EXCLUDED."trialEnd", "quantity" = EXCLUDED."quantity",
      "hadTrial" = "Subscription"."hadTrial" OR EXCLUDED."hadTrial",
      -- Past due since the transition: kept while it stays past due, cleared when it leaves.
      "pastDueSince" = CASE WHEN EXCLUDED."status" <> 'past_due' THEN NULL
        WHEN "Subscription"."status" = 'past_due' THEN COALESCE("Subscription"."pastDueSince", EXCLUDED."pastDueSince")
        ELSE EXCLUDED."pastDueSince" END,
      "providerUpdatedAt" = EXCLUDED."providerUpdatedAt", "updatedAt" = now(), "organizationId" = EXCLUDED."organizationId"
    WHERE "Subscription"."providerUpdatedAt" < EXCLUDED."providerUpdatedAt"
      OR ("Subscription"."providerUpdatedAt" = EXCLUDED."providerUpdatedAt" AND ${applyTie})`;
  if (written === 0) {
    if (!applyTie && before && new Date(before.providerUpdatedAt).getTime() === event.occurredAt.getTime()) throw new SameProviderTime();
    logEvent("info", "billing.webhook.stale", { provider, subscription: subscription.providerSubscriptionId });
    return "ignored";
  }
  // Only an applied change links (or moves) the user's Customer row.
  await owner.link();
  // In the same transaction: the user's billing activity shows exactly the changes that were applied, one line
  // per change a customer would notice (a provider's second event for the same state adds none).
  const change = subscriptionChange(before ? { ...before, currentPeriodEnd: before.currentPeriodEnd && new Date(before.currentPeriodEnd) } : null, {
    status: subscription.status,
    plan,
    cancelAtPeriodEnd: subscription.cancelAtPeriodEnd,
    currentPeriodEnd: subscription.currentPeriodEnd,
  });
  if (change) {
    await tx.billingActivity.create({
      data: rowData({ organizationId: owner.organizationId, provider, action: "subscription_change", intent: plan, outcome: change }),
    });
  }
  await onApplied?.(tx, {
    organizationId: owner.organizationId,
    provider,
    providerSubscriptionId: subscription.providerSubscriptionId,
    plan,
    previous: before ? { status: before.status, cancelAtPeriodEnd: before.cancelAtPeriodEnd } : null,
    next: { status: subscription.status, cancelAtPeriodEnd: subscription.cancelAtPeriodEnd, currentPeriodEnd: subscription.currentPeriodEnd },
  });
  return "processed";
}

export function planOf(
  plans: Record<ProviderId, Partial<Record<PlanId, string>>>,
  provider: ProviderId,
  providerPlanId: string | null,
): PlanId | null {
  if (!providerPlanId) return null;
  const entry = Object.entries(plans[provider]).find(([, id]) => id === providerPlanId);
  return (entry?.[0] as PlanId | undefined) ?? null;
}

/**
 * The organisation an event belongs to: the one checkout named, else the one this provider customer is already
 * linked to; null when neither is known. Reads only: `link()` writes the Customer row (creating or moving the
 * named organisation's link to this provider customer), and is called only once the event's change is applied.
 */
async function ownerOf(tx: Transaction, provider: ProviderId, providerCustomerId: string, namedOwnerId: string | null) {
  const linked = await tx.customer.findUnique({
    where: { provider_providerCustomerId: { provider, providerCustomerId } },
    select: { organizationId: true },
  });
  const named = namedOwnerId ? await namedOrganization(tx, namedOwnerId) : null;
  if (linked) {
    // A provider customer stays with the organisation it was first linked to.
    if (named && named !== linked.organizationId) logEvent("warn", "billing.webhook.link_conflict", { provider });
    return { organizationId: linked.organizationId, link: async () => {} };
  }
  if (!named) return null;
  return {
    organizationId: named,
    link: async () => {
      await tx.customer.upsert({
        where: { organizationId_provider: { organizationId: named, provider } },
        create: { organizationId: named, provider, providerCustomerId },
        update: { providerCustomerId },
      });
    },
  };
}

/**
 * The organisation an id from a checkout names: an organisation's id, or (a checkout opened before organisations
 * existed carried the user's id) that user's personal organisation; null when it names neither.
 */
async function namedOrganization(tx: Transaction, id: string): Promise<string | null> {
  const organization = await tx.organization.findUnique({ where: { id }, select: { id: true } });
  if (organization) return organization.id;
  const personal = await tx.membership.findFirst({
    where: { userId: id, organization: { personal: true } },
    select: { organizationId: true },
  });
  return personal?.organizationId ?? null;
}
