import { findPlan } from "./plans.ts";
import type { ProviderId } from "./providers/provider.ts";
import { STATUS_WORDS } from "./account-view.ts";
import type { SubscriptionStatus } from "./subscription-status.ts";

/** A billing activity entry as the account page and the support script show it. */
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
  manage: "Opened the billing portal",
  payment_method: "Opened the payment method update",
  cancel: "Opened the cancellation",
  change_plan: "Opened the plan change",
};

const WHEN = new Intl.DateTimeFormat("en-US", { dateStyle: "medium", timeStyle: "short", timeZone: "UTC" });

/** The words for each entry; the time is UTC, said so, since the server formats it. */
export function activityLines(rows: readonly Row[], providerNames: Record<ProviderId, string>): ActivityLine[] {
  return rows.map((row, index) => ({
    key: `${row.createdAt.toISOString()}-${index}`,
    at: row.createdAt.toISOString(),
    when: `${WHEN.format(row.createdAt)} UTC`,
    text: describe(row, providerNames[row.provider]),
  }));
}

function describe(row: Row, provider: string): string {
  const plan = findPlan(row.intent)?.name;
  if (row.action === "subscription_change") {
    const status = STATUS_WORDS[row.outcome as SubscriptionStatus] ?? row.outcome;
    return `${provider}: subscription${plan ? ` (${plan})` : ""} is now ${status}`;
  }
  const what = row.action === "checkout_start" ? `Started a checkout${plan ? ` for ${plan}` : ""}` : (INTENT_WORDS[row.intent ?? "manage"] ?? "Opened the billing portal");
  const result = row.outcome === "success" ? "" : ` (failed: ${row.outcome.replaceAll(/[-_:]/g, " ")})`;
  const latency = row.latencyMs === null ? "" : `, ${row.latencyMs} ms`;
  return `${what} at ${provider}${result}${latency}`;
}
