import * as fc from "fast-check";
import { describe, expect, test } from "vitest";
import { FREE_TIER, PLANS } from "~/billing/plans.ts";
import { PROVIDER_IDS } from "~/billing/providers/provider.ts";
import { SUBSCRIPTION_STATUSES } from "~/billing/subscription-status.ts";
import { entitlementsOf, subscriptionGrant, type OwnerSubscription } from "./entitlements.ts";

const DAY = 86_400_000;
const NOW = new Date("2027-03-10T12:00:00Z");
const RULES = { pastDueGraceDays: 7 };

/**
 * The SPEC's table ("Entitlements: which states grant the plan"), written as the table reads, case by case, and
 * kept apart from the implementation: a row of facts → granted or not.
 */
function specTable(s: OwnerSubscription, now: Date, graceDays: number): boolean {
  const t = now.getTime();
  const before = (date: Date | null) => date !== null && t < date.getTime();
  if (s.plan !== "starter" && s.plan !== "pro") return false; // not a plan of the catalogue
  if (s.endedAt !== null && !before(s.endedAt)) return false; // the provider says it has ended
  // "cancelled at period end until that end" (Lemon Squeezy `cancelled` until `ends_at` is stored this way).
  const cancellingOver = s.cancelAtPeriodEnd && s.currentPeriodEnd !== null && !before(s.currentPeriodEnd);
  switch (s.status) {
    case "active":
    case "trialing":
      return !cancellingOver;
    case "past_due":
      return !cancellingOver && s.pastDueSince !== null && before(new Date(s.pastDueSince.getTime() + graceDays * DAY));
    case "paused":
    case "canceled":
    case "expired":
    case "unpaid":
    case "incomplete":
      return false;
  }
}

/** A time around NOW: far before, a few days either side, exactly now, or absent. */
const timeArb = fc.oneof(
  fc.constant(null),
  fc.constant(NOW),
  fc.integer({ min: -30, max: 30 }).map((days) => new Date(NOW.getTime() + days * DAY)),
  fc.integer({ min: -3_600_000, max: 3_600_000 }).map((ms) => new Date(NOW.getTime() + ms)),
);

const subscriptionArb: fc.Arbitrary<OwnerSubscription> = fc.record({
  provider: fc.constantFrom(...PROVIDER_IDS),
  plan: fc.constantFrom("starter", "pro", null, "legacy_gold"),
  status: fc.constantFrom(...SUBSCRIPTION_STATUSES),
  cancelAtPeriodEnd: fc.boolean(),
  currentPeriodEnd: timeArb,
  pastDueSince: timeArb,
  trialEnd: timeArb,
  endedAt: fc.oneof({ weight: 3, arbitrary: fc.constant(null) }, { weight: 1, arbitrary: timeArb }),
});

const pro = (facts: Partial<OwnerSubscription>): OwnerSubscription => ({
  provider: "stripe",
  plan: "pro",
  status: "active",
  cancelAtPeriodEnd: false,
  currentPeriodEnd: new Date(NOW.getTime() + 20 * DAY),
  pastDueSince: null,
  trialEnd: null,
  endedAt: null,
  ...facts,
});

describe("the entitlement rule", () => {
  test("every status × time × flag: a subscription grants its plan exactly when the SPEC's table says so", () => {
    fc.assert(
      fc.property(subscriptionArb, fc.integer({ min: 0, max: 30 }), (subscription, graceDays) => {
        const granted = subscriptionGrant(subscription, NOW, { pastDueGraceDays: graceDays }).grants;
        expect(granted).toBe(specTable(subscription, NOW, graceDays));
        // And what the owner gets: that plan's features and limits, or the free tier's.
        const owner = entitlementsOf([subscription], NOW, { pastDueGraceDays: graceDays });
        const plan = PLANS.find((p) => p.id === subscription.plan);
        expect(owner.plan).toBe(granted ? plan!.id : "free");
        expect(owner.limits).toEqual(granted ? plan!.limits : FREE_TIER.limits);
        expect(owner.features).toEqual(granted ? plan!.features : FREE_TIER.features);
      }),
      { numRuns: 5000 },
    );
  });

  test("several subscriptions: the richest plan any of them grants", () => {
    fc.assert(
      fc.property(fc.array(subscriptionArb, { maxLength: 4 }), (subscriptions) => {
        const granting = subscriptions.filter((s) => specTable(s, NOW, 7)).map((s) => PLANS.findIndex((p) => p.id === s.plan));
        const expected = granting.length === 0 ? "free" : PLANS[Math.max(...granting)]!.id;
        expect(entitlementsOf(subscriptions, NOW, RULES).plan).toBe(expected);
      }),
      { numRuns: 2000 },
    );
  });


  test("past due: the plan until the grace ends, said as graceUntil; then the free tier", () => {
    const since = new Date(NOW.getTime() - 2 * DAY);
    const during = entitlementsOf([pro({ status: "past_due", pastDueSince: since })], NOW, RULES);
    expect(during).toMatchObject({ plan: "pro", status: "past_due", graceUntil: new Date(since.getTime() + 7 * DAY) });
    expect(during.features.reports).toBe(true);
    const after = entitlementsOf([pro({ status: "past_due", pastDueSince: since })], new Date(since.getTime() + 7 * DAY), RULES);
    expect(after).toMatchObject({ plan: "free", limits: { projects: 1 }, graceUntil: null });
  });

  test("Lemon Squeezy cancelled (stored as cancelling at ends_at): the plan until ends_at, said as endsAt", () => {
    const endsAt = new Date(NOW.getTime() + DAY);
    const lemon = pro({ provider: "lemonsqueezy", cancelAtPeriodEnd: true, currentPeriodEnd: endsAt });
    expect(entitlementsOf([lemon], NOW, RULES)).toMatchObject({ plan: "pro", endsAt });
    expect(entitlementsOf([lemon], endsAt, RULES).plan).toBe("free");
  });

  test("a trial grants the plan and says when it ends", () => {
    const trialEnd = new Date(NOW.getTime() + 14 * DAY);
    expect(entitlementsOf([pro({ status: "trialing", trialEnd })], NOW, RULES)).toMatchObject({ plan: "pro", status: "trialing", trialEnd });
  });
});
