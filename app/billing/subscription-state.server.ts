import { randomUUID } from "node:crypto";
import type { PrismaClient } from "~/db/generated/client.ts";
import { logEvent } from "~/observability/log.server.ts";
import { rowData } from "./activity.server.ts";
import type { PlanId } from "./plans.ts";
import type { BillingEvent, ProviderId } from "./providers/provider.ts";

export type Transaction = Parameters<Parameters<PrismaClient["$transaction"]>[0]>[0];

export type ApplyOutcome = "processed" | "ignored" | "unlinked";

/**
 * The one path a subscription's state takes into the database, for webhooks and for sync from the providers:
 * link the event to a user, then write the state unless a newer one is already stored. Runs inside the
 * caller's transaction.
 */
export async function applyBillingEvent(
  tx: Transaction,
  provider: ProviderId,
  event: BillingEvent,
  plans: Record<ProviderId, Partial<Record<PlanId, string>>>,
): Promise<ApplyOutcome> {
  if (event.kind === "ignored") return "ignored";
  const userId = await linkCustomer(tx, provider, event.providerCustomerId, event.userId);
  if (!userId) return "unlinked";
  if (event.kind === "customer-linked") return "processed";

  const { subscription } = event;
  const plan = planOf(plans, provider, subscription.providerPlanId);
  // One statement, so two events for one subscription cannot interleave: the row is written only when
  // this event's time is not older than the stored state's.
  const written = await tx.$executeRaw`
    INSERT INTO "Subscription" ("id", "provider", "providerSubscriptionId", "providerCustomerId", "plan", "providerPlanId",
      "status", "currentPeriodEnd", "cancelAtPeriodEnd", "providerUpdatedAt", "createdAt", "updatedAt", "userId")
    VALUES (${randomUUID()}, ${provider}::"PaymentProvider", ${subscription.providerSubscriptionId}, ${event.providerCustomerId},
      ${plan}, ${subscription.providerPlanId}, ${subscription.status}::"SubscriptionStatus", ${subscription.currentPeriodEnd},
      ${subscription.cancelAtPeriodEnd}, ${event.occurredAt}, now(), now(), ${userId})
    ON CONFLICT ("provider", "providerSubscriptionId") DO UPDATE SET
      "providerCustomerId" = EXCLUDED."providerCustomerId", "plan" = EXCLUDED."plan",
      "providerPlanId" = EXCLUDED."providerPlanId", "status" = EXCLUDED."status",
      "currentPeriodEnd" = EXCLUDED."currentPeriodEnd", "cancelAtPeriodEnd" = EXCLUDED."cancelAtPeriodEnd",
      "providerUpdatedAt" = EXCLUDED."providerUpdatedAt", "updatedAt" = now(), "userId" = EXCLUDED."userId"
    WHERE "Subscription"."providerUpdatedAt" <= EXCLUDED."providerUpdatedAt"`;
  if (written === 0) {
    logEvent("info", "billing.webhook.stale", { provider, subscription: subscription.providerSubscriptionId });
    return "ignored";
  }
  // In the same transaction: the user's billing activity shows exactly the changes that were applied.
  await tx.billingActivity.create({
    data: rowData({ userId, provider, action: "subscription_change", intent: plan, outcome: subscription.status }),
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
 * The user an event belongs to: the one checkout named (creating or moving their Customer row at this
 * provider), else the one this provider customer is already linked to; null when neither is known.
 */
async function linkCustomer(tx: Transaction, provider: ProviderId, providerCustomerId: string, namedUserId: string | null) {
  const linked = await tx.customer.findUnique({
    where: { provider_providerCustomerId: { provider, providerCustomerId } },
    select: { userId: true },
  });
  const named = namedUserId
    ? await tx.user.findUnique({ where: { id: namedUserId }, select: { id: true } })
    : null;
  if (linked) {
    // A provider customer stays with the user it was first linked to.
    if (named && named.id !== linked.userId) logEvent("warn", "billing.webhook.link_conflict", { provider });
    return linked.userId;
  }
  if (!named) return null;
  await tx.customer.upsert({
    where: { userId_provider: { userId: named.id, provider } },
    create: { userId: named.id, provider, providerCustomerId },
    update: { providerCustomerId },
  });
  return named.id;
}
