import { describe, expect, test } from "vitest";
import { subscriptionEvent } from "../../../tests/webhook-events.ts";
import type { SubscriptionStatus } from "../subscription-status.ts";
import type { ProviderId } from "./provider.ts";
import { providerModule } from "./registry.server.ts";

// Every status word each provider uses (PROVIDERS.md §4; Polar's and Lemon Squeezy's from their SDKs' types,
// which the modules' tables are also checked against at compile time), and what the app must call it.
const EXPECTED: Record<ProviderId, Record<string, SubscriptionStatus>> = {
  stripe: {
    incomplete: "incomplete",
    incomplete_expired: "expired",
    trialing: "trialing",
    active: "active",
    past_due: "past_due",
    canceled: "canceled",
    unpaid: "unpaid",
    paused: "paused",
  },
  polar: {
    incomplete: "incomplete",
    incomplete_expired: "expired",
    trialing: "trialing",
    active: "active",
    past_due: "past_due",
    canceled: "canceled",
    unpaid: "unpaid",
    paused: "paused",
  },
  lemonsqueezy: {
    on_trial: "trialing",
    active: "active",
    paused: "paused",
    pause: "paused",
    past_due: "past_due",
    unpaid: "unpaid",
    // SPEC (issue 16): still paying until `ends_at`, so live and cancelling at the period's end, as Stripe's and Polar's.
    cancelled: "active",
    expired: "expired",
  },
};

function statusOf(provider: ProviderId, word: string) {
  const { type, payload } = subscriptionEvent(provider, {
    userId: "user-1",
    customerId: "1",
    subscriptionId: "1",
    status: word,
    planId: "1",
    periodEnd: new Date("2027-01-01T00:00:00Z"),
    at: new Date("2026-11-01T00:00:00Z"),
  });
  const event = providerModule(provider).webhooks.parse({ eventId: "e", type, payload });
  return "subscription" in event ? event.subscription.status : "ignored";
}

describe.each(Object.keys(EXPECTED) as ProviderId[])("%s subscription statuses", (provider) => {
  test.each(Object.entries(EXPECTED[provider]))("%s is the app's %s", (word, status) => {
    expect(statusOf(provider, word)).toBe(status);
  });

  test("a word the provider never documented is not applied", () => {
    expect(statusOf(provider, "teleported")).toBe("ignored");
  });
});
