import { findPlan } from "./plans.ts";
import type { ProviderId } from "./providers/provider.ts";
import { STATUS_WORDS } from "./account-view.ts";
import type { SubscriptionStatus } from "./subscription-status.ts";

/** A billing activity entry as the account page shows it: in a customer's words, the date only. */
export type ActivityLine = { key: string; at: string; when: string; text: string };

type Row = {
  provider: ProviderId;
  action: "portal_open" | "checkout_start" | "subscription_change";
  intent: string | null;
  outcome: string;
  latencyMs: number | null;
  createdAt: Date;
};

const INTENT_WORDS: Record<string, string> = {
  manage: "the billing portal",
  payment_method: "the payment method update",
  cancel: "the cancellation",
  change_plan: "the plan change",
};

/** Dates as a customer writes them ("5 January 2027"); the date only, so no time zone can make it wrong by hours. */
const DAY = new Intl.DateTimeFormat("en-GB", { day: "numeric", month: "long", year: "numeric", timeZone: "UTC" });

/** The words for each entry (SPEC "Account page": one line per applied change, no internal words). */
export function activityLines(rows: readonly Row[], providerNames: Record<ProviderId, string>): ActivityLine[] {
  return rows.map((row, index) => ({
    key: `${row.createdAt.toISOString()}-${index}`,
    at: row.createdAt.toISOString().slice(0, 10),
    when: DAY.format(row.createdAt),
    text: describe(row, providerNames[row.provider]),
  }));
}

function describe(row: Row, provider: string): string {
  const plan = findPlan(row.intent)?.name;
  if (row.action === "subscription_change") return `${plan ? `${plan} subscription` : "Subscription"} ${changeWords(row.outcome)}`;
  const ok = row.outcome === "success";
  const what =
    row.action === "checkout_start"
      ? `${ok ? "Started" : "Could not start"} a checkout${plan ? ` for ${plan}` : ""}`
      : `${ok ? "Opened" : "Could not open"} ${INTENT_WORDS[row.intent ?? "manage"] ?? INTENT_WORDS.manage}`;
  return `${what} at ${provider}${ok ? "" : `: ${failureWords(row.outcome)}`}`;
}

/** The change words the webhook service records (subscription-change.ts); entries from before them hold a status. */
function changeWords(outcome: string): string {
  const [word, detail] = outcome.split(":", 2) as [string, string | undefined];
  switch (word) {
    case "started":
      return "started";
    case "trial_started":
      return "trial started";
    case "trial_converted":
      return "trial ended; the subscription is now paid";
    case "renewed":
      return "renewed";
    case "payment_failed":
      return "payment failed";
    case "payment_recovered":
      return "payment succeeded; the subscription is active again";
    case "cancel_scheduled": {
      const date = detail ? new Date(`${detail}T00:00:00Z`) : null;
      return date && !Number.isNaN(date.getTime()) ? `will cancel on ${DAY.format(date)}` : "will cancel at the end of the period";
    }
    case "cancel_withdrawn":
      return "will renew again (cancellation withdrawn)";
    case "plan_changed":
      return "plan changed";
    case "seats_changed": {
      // "3-4": the seat counts before and after (app/billing/seats/).
      const [from, to] = (detail ?? "").split("-");
      return from && to ? `seats changed from ${from} to ${to}` : "seats changed";
    }
    case "paused":
      return "paused";
    case "resumed":
      return "resumed";
    case "ended":
      return "ended";
    case "status":
      return `is now ${STATUS_WORDS[detail as SubscriptionStatus] ?? "updated"}`;
    default:
      return `is now ${STATUS_WORDS[word as SubscriptionStatus] ?? "updated"}`;
  }
}

/** Why a portal open or checkout start did not go through, said without the app's internal kinds. */
function failureWords(outcome: string): string {
  if (outcome === "already-subscribed") return "you already have a subscription";
  if (outcome === "too-many-requests") return "too many tries at once, please wait a moment";
  const reason = outcome.startsWith("provider-failure:") ? outcome.slice("provider-failure:".length) : null;
  if (reason === "unknown-customer" || reason === "no-portal") return "the billing account was not found";
  if (reason !== null) return "the payment provider could not be reached";
  return "the request was not valid";
}
