import { isLiveSubscription, type SubscriptionStatus } from "./subscription-status.ts";

/**
 * What a customer would call an applied subscription change (SPEC "Account page": billing activity in a
 * customer's words, one line per applied change, no duplicates). Pure: the webhook service compares the
 * stored state with the one it applies and records the word; the account page turns the word into a line.
 */

export type SubscriptionFacts = {
  status: SubscriptionStatus;
  plan: string | null;
  cancelAtPeriodEnd: boolean;
  currentPeriodEnd: Date | null;
};

/**
 * The change's word (a BillingActivity outcome), or null when nothing the customer would notice changed
 * (a provider's second event for the same state, a field the page does not show).
 * `cancel_scheduled:` carries the end date (YYYY-MM-DD, UTC) so the line can say when.
 */
export function subscriptionChange(before: SubscriptionFacts | null, after: SubscriptionFacts): string | null {
  const live = isLiveSubscription(after.status);
  const cancelling = live && after.cancelAtPeriodEnd;
  if (!before) {
    if (!live) return "ended";
    if (cancelling) return scheduled(after);
    return after.status === "trialing" ? "trial_started" : "started";
  }
  const wasLive = isLiveSubscription(before.status);
  if (wasLive && !live) return "ended";
  if (!wasLive && live) return after.status === "trialing" ? "trial_started" : "started";
  if (!live) return null;
  if (after.status !== before.status) {
    if (after.status === "past_due" || after.status === "unpaid") return "payment_failed";
    if ((before.status === "past_due" || before.status === "unpaid") && after.status === "active") return "payment_recovered";
    if (after.status === "paused") return "paused";
    if (before.status === "paused") return "resumed";
    if (before.status === "trialing" && after.status === "active") return "trial_converted";
  }
  if (cancelling && !before.cancelAtPeriodEnd) return scheduled(after);
  if (!after.cancelAtPeriodEnd && before.cancelAtPeriodEnd) return "cancel_withdrawn";
  if (after.plan !== before.plan) return "plan_changed";
  if (cancelling && time(after.currentPeriodEnd) !== time(before.currentPeriodEnd)) return scheduled(after);
  if (time(after.currentPeriodEnd) > time(before.currentPeriodEnd) && !after.cancelAtPeriodEnd) return "renewed";
  if (after.status !== before.status) return `status:${after.status}`;
  return null;
}

function scheduled(after: SubscriptionFacts): string {
  return after.currentPeriodEnd ? `cancel_scheduled:${after.currentPeriodEnd.toISOString().slice(0, 10)}` : "cancel_scheduled";
}

const time = (date: Date | null) => date?.getTime() ?? 0;
