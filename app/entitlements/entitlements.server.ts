import type { PrismaClient } from "~/db/generated/client.ts";
import type { ProviderId } from "~/billing/providers/provider.ts";
import { entitlementsOf, type EntitlementRules, type Entitlements, type OwnerSubscription, type OwnerSubscriptionRow } from "./entitlements.ts";

/** Only these states can grant a plan (entitlements.ts); the others need not be read at all. */
export const GRANTING_STATUSES = ["active", "trialing", "past_due"] as const;

export type EntitlementsService = ReturnType<typeof createEntitlements>;

/**
 * Entitlements of a billing owner, read from the database on every call (no cache: a webhook or sync write is seen
 * by the next request on every instance), decided by the pure rule in entitlements.ts.
 */
export function createEntitlements(deps: { prisma: PrismaClient; rules: EntitlementRules; now?: () => Date }) {
  const { prisma, rules } = deps;
  const now = deps.now ?? (() => new Date());

  async function subscriptions(ownerId: string): Promise<OwnerSubscriptionRow[]> {
    const rows = await prisma.subscription.findMany({
      where: { organizationId: ownerId, status: { in: [...GRANTING_STATUSES] } },
      select: {
        provider: true,
        providerSubscriptionId: true,
        plan: true,
        status: true,
        cancelAtPeriodEnd: true,
        currentPeriodEnd: true,
        pastDueSince: true,
        trialEnd: true,
        endedAt: true,
      },
    });
    return rows.map((row) => ({ ...row, provider: row.provider as ProviderId }));
  }

  return {
    rules,
    now,
    subscriptions,
    decide: (rows: readonly OwnerSubscription[]): Entitlements => entitlementsOf(rows, now(), rules),
    async of(ownerId: string): Promise<Entitlements> {
      return entitlementsOf(await subscriptions(ownerId), now(), rules);
    },
  };
}
