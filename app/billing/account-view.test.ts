import { describe, expect, test } from "vitest";
import { type AccountSubscriptionRow, accountBillingView } from "./account-view.ts";

const NAMES = { stripe: "Stripe", polar: "Polar", lemonsqueezy: "Lemon Squeezy" };
const NOW = new Date("2026-11-29T12:00:00Z");
const NEXT_MONTH = new Date("2026-12-29T12:00:00Z");
const LAST_WEEK = new Date("2026-11-22T12:00:00Z");

function subscription(overrides: Partial<AccountSubscriptionRow> = {}): AccountSubscriptionRow {
  return {
    provider: "stripe",
    plan: "pro",
    status: "active",
    currentPeriodEnd: NEXT_MONTH,
    cancelAtPeriodEnd: false,
    providerUpdatedAt: LAST_WEEK,
    ...overrides,
  };
}

function view(input: { customers?: { provider: "stripe" | "polar" | "lemonsqueezy" }[]; subscriptions?: AccountSubscriptionRow[]; checkoutReturned?: boolean; active?: "stripe" | "polar" | "lemonsqueezy"; legacy?: ("stripe" | "polar" | "lemonsqueezy")[] }) {
  return accountBillingView({
    legacyProviders: input.legacy,
    activeProvider: input.active ?? "stripe",
    providerNames: NAMES,
    customers: input.customers ?? [{ provider: "stripe" }],
    subscriptions: input.subscriptions ?? [],
    checkoutReturned: input.checkoutReturned ?? false,
    now: NOW,
  });
}

describe("account billing view", () => {
  test("an active subscription shows plan, status and renewal date", () => {
    expect(view({ subscriptions: [subscription()] })).toMatchObject({
      kind: "customer",
      provider: "Stripe",
      summary: "Pro, active, renews on December 29, 2026",
      pastDue: false,
    });
  });

  test("cancelling at the period's end shows the end date instead", () => {
    expect(view({ subscriptions: [subscription({ cancelAtPeriodEnd: true })] })).toMatchObject({ summary: "Pro, cancels on December 29, 2026" });
    // Lemon Squeezy already calls such a subscription "cancelled".
    const lemon = subscription({ provider: "lemonsqueezy", status: "canceled", cancelAtPeriodEnd: true });
    expect(view({ active: "lemonsqueezy", customers: [{ provider: "lemonsqueezy" }], subscriptions: [lemon] })).toMatchObject({
      summary: "Pro, cancels on December 29, 2026",
    });
  });

  test("an ended subscription says when it ended", () => {
    expect(view({ subscriptions: [subscription({ status: "canceled", currentPeriodEnd: LAST_WEEK })] })).toMatchObject({
      summary: "Pro, canceled, ended on November 22, 2026",
    });
  });

  test("past due is flagged for the card-update alert", () => {
    expect(view({ subscriptions: [subscription({ status: "past_due", plan: "starter" })] })).toMatchObject({
      summary: "Starter, past due, renews on December 29, 2026",
      pastDue: true,
    });
  });

  test("a live subscription is shown before a newer ended one", () => {
    const ended = subscription({ status: "canceled", plan: "starter", currentPeriodEnd: LAST_WEEK, providerUpdatedAt: NOW });
    expect(view({ subscriptions: [ended, subscription()] })).toMatchObject({ summary: "Pro, active, renews on December 29, 2026" });
  });

  test("no customer anywhere: choose a plan", () => {
    expect(view({ customers: [] })).toEqual({ kind: "no-customer", confirming: false });
  });

  test("a customer only at another provider is the mismatch, said once", () => {
    expect(view({ active: "polar", customers: [{ provider: "stripe" }], subscriptions: [subscription()] })).toEqual({
      kind: "other-provider",
      customerProvider: "Stripe",
      activeProvider: "Polar",
      confirming: false,
    });
  });

  test("back from checkout, the subscription is being confirmed until its webhook has arrived", () => {
    expect(view({ customers: [], checkoutReturned: true })).toEqual({ kind: "no-customer", confirming: true });
    expect(view({ subscriptions: [subscription()], checkoutReturned: true })).toMatchObject({ confirming: false, confirmed: true });
  });

  test("a customer of a legacy provider manages that subscription there, and the page says who holds it", () => {
    const stripe = subscription({ provider: "stripe" });
    expect(view({ active: "polar", legacy: ["stripe"], subscriptions: [stripe] })).toMatchObject({
      kind: "customer",
      provider: "Stripe",
      summary: "Pro, active, renews on December 29, 2026",
      manageable: true,
      cancellable: true,
      legacy: { heldBy: "Stripe", activeProvider: "Polar" },
      holdings: [{ provider: "Stripe", summary: "Pro, active, renews on December 29, 2026" }],
    });
    // Not listed: the mismatch, as before.
    expect(view({ active: "polar", subscriptions: [stripe] })).toMatchObject({ kind: "other-provider" });
  });

  test("a subscription already ending offers no cancel button; an ended one no deep links", () => {
    expect(view({ subscriptions: [subscription({ cancelAtPeriodEnd: true })] })).toMatchObject({ manageable: true, cancellable: false });
    expect(view({ subscriptions: [subscription({ status: "canceled", currentPeriodEnd: LAST_WEEK })] })).toMatchObject({ manageable: false, cancellable: false });
  });

  // Issue 18, item 8: the billing buttons mean the same on every provider.
  test.each(["stripe", "polar", "lemonsqueezy"] as const)(
    "%s: a button only for an action the provider deep-links to, the others said once; after a cancel, only Cancel goes",
    (provider) => {
      const before = view({ active: provider, customers: [{ provider }], subscriptions: [subscription({ provider })] });
      const after = view({ active: provider, customers: [{ provider }], subscriptions: [subscription({ provider, cancelAtPeriodEnd: true })] });
      const expected = {
        stripe: { before: ["payment_method", "change_plan", "cancel"], after: ["payment_method", "change_plan"], note: [null, null] },
        lemonsqueezy: {
          before: ["payment_method", "change_plan"],
          after: ["payment_method", "change_plan"],
          note: ["To cancel, press Manage billing: Lemon Squeezy's portal has it on its home page.", null],
        },
        polar: {
          before: [],
          after: [],
          note: [
            "To update your card, change plan or cancel, press Manage billing: Polar's portal has them on its home page.",
            "To update your card or change plan, press Manage billing: Polar's portal has them on its home page.",
          ],
        },
      }[provider];
      expect(before).toMatchObject({ actions: expected.before, inPortalHome: expected.note[0] });
      expect(after).toMatchObject({ actions: expected.after, inPortalHome: expected.note[1] });
      // The same rule everywhere: what a cancel takes away is Cancel, and nothing else.
      const offered = (v: typeof before) => (v.kind === "customer" ? [...v.actions, v.inPortalHome ?? ""].join("|") : "");
      expect(offered(after)).not.toMatch(/cancel/i);
      expect(offered(before)).toMatch(/cancel/i);
    },
  );

  // Issue 16, defect 1: an immediate cancel ends at Stripe's `ended_at`, not at the unused period end.
  test("an ended subscription says its real end, not the unused period end", () => {
    const endedNow = subscription({ status: "canceled", currentPeriodEnd: NEXT_MONTH, endedAt: LAST_WEEK });
    expect(view({ subscriptions: [endedNow] })).toMatchObject({ summary: "Pro, canceled, ended on November 22, 2026" });
  });

  // Issue 16, defect 3: "renews on" only for a live subscription that will renew.
  test("a subscription awaiting its first payment does not say it renews", () => {
    const summary = (view({ subscriptions: [subscription({ status: "incomplete" })] }) as { summary: string }).summary;
    expect(summary).toBe("Pro, awaiting payment");
  });

  test("a trial says when it ends", () => {
    const trial = subscription({ status: "trialing", trialEnd: NEXT_MONTH });
    expect(view({ subscriptions: [trial] })).toMatchObject({ summary: "Pro, on trial, trial ends on December 29, 2026" });
  });

  // Issue 16, item 7: two checkouts both paid; neither is hidden.
  test("two live subscriptions are both listed, and said to be two", () => {
    const pro = subscription({ plan: "pro" });
    const starter = subscription({ plan: "starter", providerUpdatedAt: NOW });
    expect(view({ subscriptions: [pro, starter] })).toMatchObject({
      liveSubscriptions: [
        { provider: "Stripe", summary: "Pro, active, renews on December 29, 2026" },
        { provider: "Stripe", summary: "Starter, active, renews on December 29, 2026" },
      ],
    });
    expect(view({ subscriptions: [pro, subscription({ status: "canceled", endedAt: LAST_WEEK })] })).toMatchObject({ liveSubscriptions: [] });
  });
});
