import { describe, expect, test } from "vitest";
import { activityLines } from "./activity-view.ts";
import { subscriptionChange, type SubscriptionFacts } from "./subscription-change.ts";

const NAMES = { stripe: "Stripe", polar: "Polar", lemonsqueezy: "Lemon Squeezy" };
const AT = new Date("2026-12-07T23:59:58.123Z");
const END = new Date("2027-01-05T10:00:00Z");
const LATER = new Date("2027-02-05T10:00:00Z");

const line = (row: { action?: "portal_open" | "checkout_start" | "subscription_change"; intent?: string | null; outcome: string; latencyMs?: number | null }) =>
  activityLines([{ provider: "stripe", action: "subscription_change", intent: "pro", latencyMs: null, createdAt: AT, ...row }], NAMES)[0]!;

const facts = (overrides: Partial<SubscriptionFacts> = {}): SubscriptionFacts => ({
  status: "active",
  plan: "pro",
  cancelAtPeriodEnd: false,
  currentPeriodEnd: END,
  ...overrides,
});

describe("a subscription change in a customer's words", () => {
  test.each([
    [null, facts(), "Pro subscription started"],
    [null, facts({ status: "trialing" }), "Pro subscription trial started"],
    [facts(), facts({ cancelAtPeriodEnd: true }), "Pro subscription will cancel on 5 January 2027"],
    [facts({ cancelAtPeriodEnd: true }), facts(), "Pro subscription will renew again (cancellation withdrawn)"],
    [facts(), facts({ currentPeriodEnd: LATER }), "Pro subscription renewed"],
    [facts(), facts({ status: "past_due" }), "Pro subscription payment failed"],
    [facts({ status: "past_due" }), facts({ currentPeriodEnd: LATER }), "Pro subscription payment succeeded; the subscription is active again"],
    [facts({ cancelAtPeriodEnd: true }), facts({ status: "canceled" }), "Pro subscription ended"],
    [facts({ status: "trialing" }), facts({ currentPeriodEnd: LATER }), "Pro subscription trial ended; the subscription is now paid"],
  ] as const)("%o then %o: %s", (before, after, words) => {
    const change = subscriptionChange(before, after);
    expect(change).not.toBeNull();
    expect(line({ outcome: change! }).text).toBe(words);
  });

  test("a seat change names the counts before and after (app/billing/seats/)", () => {
    expect(line({ intent: "team", outcome: "seats_changed:3-4" }).text).toBe("Team subscription seats changed from 3 to 4");
  });

  test("the same state again is no change at all (a provider's second event for it adds no line)", () => {
    expect(subscriptionChange(facts(), facts())).toBeNull();
    expect(subscriptionChange(facts({ cancelAtPeriodEnd: true }), facts({ cancelAtPeriodEnd: true }))).toBeNull();
    expect(subscriptionChange(facts({ status: "canceled" }), facts({ status: "expired" }))).toBeNull();
  });

  test("a scheduled cancel is never said as 'now active' or 'now canceled'", () => {
    const text = line({ outcome: subscriptionChange(facts(), facts({ cancelAtPeriodEnd: true }))! }).text;
    expect(text).not.toMatch(/now (active|canceled)/);
  });

  test("entries from before the change words still read", () => {
    expect(line({ outcome: "past_due" }).text).toBe("Pro subscription is now past due");
  });
});

describe("lines", () => {
  test("the date only, as a customer writes it; no milliseconds, no UTC", () => {
    expect(line({ outcome: "renewed" })).toMatchObject({ when: "7 December 2026", at: "2026-12-07" });
  });

  test("portal and checkout failures without internal words or timings", () => {
    const texts = [
      line({ action: "portal_open", intent: "manage", outcome: "provider-failure:unknown-customer", latencyMs: 120 }).text,
      line({ action: "portal_open", intent: "cancel", outcome: "provider-failure:timeout", latencyMs: 10_000 }).text,
      line({ action: "checkout_start", intent: "pro", outcome: "already-subscribed" }).text,
      line({ action: "portal_open", intent: "manage", outcome: "success", latencyMs: 80 }).text,
    ];
    expect(texts).toEqual([
      "Could not open the billing portal at Stripe: the billing account was not found",
      "Could not open the cancellation at Stripe: the payment provider could not be reached",
      "Could not start a checkout for Pro at Stripe: you already have a subscription",
      "Opened the billing portal at Stripe",
    ]);
    for (const text of texts) expect(text).not.toMatch(/provider failure|unknown customer|ms\b|[-_:]\w/);
  });
});
