import { FREE_TIER, PLANS, findPlan, type Feature, type Grants, type LimitName, type PlanId } from "~/billing/plans.ts";
import type { ProviderId } from "~/billing/providers/provider.ts";
import type { SubscriptionStatus } from "~/billing/subscription-status.ts";

/** One of the owner's stored subscriptions, as far as entitlements need it. */
export type OwnerSubscription = {
  provider: ProviderId;
  /** The catalogue's plan; null for a provider product the catalogue does not name (grants nothing). */
  plan: PlanId | string | null;
  status: SubscriptionStatus;
  cancelAtPeriodEnd: boolean;
  currentPeriodEnd: Date | null;
  /** When it became past due (set by the apply path on the transition); null when it is not past due. */
  pastDueSince: Date | null;
  trialEnd: Date | null;
  /** The provider's own end; from then on it grants nothing, whatever its status says. */
  endedAt: Date | null;
};

/** A stored subscription with its provider id (for deep links), as the session statement reads it. */
export type OwnerSubscriptionRow = OwnerSubscription & { providerSubscriptionId: string };

export type EntitlementRules = {
  /** BILLING_PAST_DUE_GRACE_DAYS. */
  pastDueGraceDays: number;
};

/** Why a subscription grants its plan, or why it does not. */
export type GrantReason =
  | { grants: true; why: "active" | "trialing" | "past-due-grace" | "cancelling"; until: Date | null }
  | { grants: false; why: "status" | "period-ended" | "grace-over" | "ended" | "unknown-plan" };

export type Entitlements = Grants & {
  /** The plan granted, or "free". */
  plan: PlanId | "free";
  planName: string;
  /** The granting subscription's status; null on the free tier. */
  status: SubscriptionStatus | null;
  provider: ProviderId | null;
  /** Past due and still granted: the plan lasts until then. */
  graceUntil: Date | null;
  /** Trialing: when the trial ends. */
  trialEnd: Date | null;
  /** Cancelling (or Lemon Squeezy `cancelled`): the plan lasts until then. */
  endsAt: Date | null;
};

const DAY_MS = 86_400_000;

/**
 * The SPEC's table (Entitlements), for one subscription at time `now`:
 * - `active` and `trialing` grant the plan;
 * - `past_due` grants it for `pastDueGraceDays` after it became past due;
 * - a subscription cancelling at period end grants it until that end. Lemon Squeezy's `cancelled` arrives here as
 *   this case (its provider module stores it as `active`, cancelling at `ends_at`), so it grants until `ends_at`;
 * - everything else (`paused`, `canceled`, `expired`, `unpaid`, `incomplete`) grants nothing: the free tier.
 */
export function subscriptionGrant(subscription: OwnerSubscription, now: Date, rules: EntitlementRules): GrantReason {
  if (!findPlan(subscription.plan)) return { grants: false, why: "unknown-plan" };
  if (subscription.endedAt && subscription.endedAt.getTime() <= now.getTime()) return { grants: false, why: "ended" };
  const { status } = subscription;
  if (status !== "active" && status !== "trialing" && status !== "past_due") return { grants: false, why: "status" };
  const periodEnd = subscription.cancelAtPeriodEnd ? subscription.currentPeriodEnd : null;
  if (periodEnd && periodEnd.getTime() <= now.getTime()) return { grants: false, why: "period-ended" };
  if (status === "past_due") {
    if (!subscription.pastDueSince) return { grants: false, why: "grace-over" };
    const graceEnd = new Date(subscription.pastDueSince.getTime() + rules.pastDueGraceDays * DAY_MS);
    if (graceEnd.getTime() <= now.getTime()) return { grants: false, why: "grace-over" };
    return { grants: true, why: "past-due-grace", until: periodEnd && periodEnd < graceEnd ? periodEnd : graceEnd };
  }
  if (periodEnd) return { grants: true, why: "cancelling", until: periodEnd };
  return { grants: true, why: status, until: null };
}

/**
 * What an owner has at time `now`, from all of its subscriptions: the richest plan any of them grants (the
 * catalogue's order: later plans are richer), else the free tier. Pure: the same state and time give the same
 * answer on every instance.
 */
export function entitlementsOf(subscriptions: readonly OwnerSubscription[], now: Date, rules: EntitlementRules): Entitlements {
  let best: { subscription: OwnerSubscription; grant: Extract<GrantReason, { grants: true }>; rank: number } | null = null;
  for (const subscription of subscriptions) {
    const grant = subscriptionGrant(subscription, now, rules);
    if (!grant.grants) continue;
    const rank = PLANS.findIndex((plan) => plan.id === subscription.plan);
    if (!best || rank > best.rank) best = { subscription, grant, rank };
  }
  if (!best) {
    return { plan: "free", planName: FREE_TIER.name, features: FREE_TIER.features, limits: FREE_TIER.limits, status: null, provider: null, graceUntil: null, trialEnd: null, endsAt: null };
  }
  const plan = PLANS[best.rank]!;
  const { subscription, grant } = best;
  return {
    plan: plan.id,
    planName: plan.name,
    features: plan.features,
    limits: plan.limits,
    status: subscription.status,
    provider: subscription.provider,
    graceUntil: grant.why === "past-due-grace" ? grant.until : null,
    trialEnd: subscription.status === "trialing" ? subscription.trialEnd : null,
    endsAt: grant.why === "cancelling" ? grant.until : null,
  };
}

export function hasFeature(entitlements: Grants, feature: Feature): boolean {
  return entitlements.features[feature];
}

export function limitOf(entitlements: Grants, limit: LimitName): number {
  return entitlements.limits[limit];
}
