/**
 * The app's own subscription states (SPEC: Subscriptions and webhooks). Each
 * provider module maps its provider's words onto these; the database enum
 * and the account page use them.
 */
export const SUBSCRIPTION_STATUSES = [
  "trialing",
  "active",
  "past_due",
  "paused",
  "canceled",
  "incomplete",
  "expired",
  "unpaid",
] as const;
export type SubscriptionStatus = (typeof SUBSCRIPTION_STATUSES)[number];

/** States in which the user has (or is about to have) the plan: a second checkout would double-charge. */
export const LIVE_SUBSCRIPTION_STATUSES = ["trialing", "active", "past_due", "paused", "unpaid", "incomplete"] as const satisfies readonly SubscriptionStatus[];

export function isLiveSubscription(status: SubscriptionStatus): boolean {
  return (LIVE_SUBSCRIPTION_STATUSES as readonly SubscriptionStatus[]).includes(status);
}
