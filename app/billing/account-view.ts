import { findPlan } from "./plans.ts";
import { ACTION_WORDS, deepLinks, type SubscriptionAction } from "./portal-deep-links.ts";
import type { ProviderId } from "./providers/provider.ts";
import { isLiveSubscription, type SubscriptionStatus } from "./subscription-status.ts";

/**
 * What the account page says about billing (SPEC: Account page), from the
 * user's customer and subscription rows. Pure: the loader fetches the rows,
 * this decides the words; dates are formatted here, once, on the server.
 */

export type AccountSubscriptionRow = {
  provider: ProviderId;
  plan: string | null;
  status: SubscriptionStatus;
  currentPeriodEnd: Date | null;
  cancelAtPeriodEnd: boolean;
  providerUpdatedAt: Date;
  /** The provider's own end; absent or null while it runs. */
  endedAt?: Date | null;
  /** When the trial ends; absent or null without one. */
  trialEnd?: Date | null;
};

/** Live states that go on to a next period (and so "renew"); incomplete, paused and unpaid do not on their own. */
const RENEWING: readonly SubscriptionStatus[] = ["trialing", "active", "past_due"];

export type AccountBillingView =
  /** No customer anywhere: a "Choose a plan" link, no button that can only fail. */
  | { kind: "no-customer"; confirming: boolean }
  /** A customer only at a provider that no longer handles billing: said once, no button. */
  | { kind: "other-provider"; customerProvider: string; activeProvider: string; confirming: boolean }
  | {
      kind: "customer";
      provider: string;
      /** E.g. "Pro, active, renews on January 15, 2027"; null without a subscription. */
      summary: string | null;
      pastDue: boolean;
      /** A live subscription: the deep-link buttons (payment method, change plan) have something to act on. */
      manageable: boolean;
      /** Live and not already ending: "Cancel subscription" makes sense. */
      cancellable: boolean;
      /**
       * The buttons beside "Manage billing": the actions that make sense now (a live subscription; cancel only when
       * not already ending) and that the provider deep-links to. The same rule for every provider.
       */
      actions: SubscriptionAction[];
      /** The actions that make sense now but open the portal's home at this provider: said in one line, no button. */
      inPortalHome: string | null;
      /** The subscription is held by a previous provider (BILLING_LEGACY_PROVIDERS) whose portal still opens. */
      legacy: { heldBy: string; activeProvider: string } | null;
      /** Which provider holds which subscription, when more than one provider has one. */
      holdings: { provider: string; summary: string }[];
      /**
       * Every live subscription, when there is more than one (two checkouts both paid): none is hidden behind
       * another (SPEC "Account page"). Empty with one or none.
       */
      liveSubscriptions: { provider: string; summary: string }[];
      /** Returned from checkout, and its webhook has not arrived yet. */
      confirming: boolean;
      /** Returned from checkout, and the subscription is there. */
      confirmed: boolean;
    };

export const STATUS_WORDS: Record<SubscriptionStatus, string> = {
  trialing: "on trial",
  active: "active",
  past_due: "past due",
  paused: "paused",
  canceled: "canceled",
  incomplete: "awaiting payment",
  expired: "expired",
  unpaid: "unpaid",
};

const DATE = new Intl.DateTimeFormat("en-US", { dateStyle: "long", timeZone: "UTC" });

export function accountBillingView(input: {
  activeProvider: ProviderId;
  providerNames: Record<ProviderId, string>;
  customers: { provider: ProviderId }[];
  subscriptions: AccountSubscriptionRow[];
  /** The user came back from the provider's checkout (`?checkout=success`). */
  checkoutReturned: boolean;
  now: Date;
  /** Previous providers whose portals still open for their customers (BILLING_LEGACY_PROVIDERS). */
  legacyProviders?: readonly ProviderId[];
}): AccountBillingView {
  const { activeProvider, providerNames, now } = input;
  const currentAt = (provider: ProviderId) =>
    input.subscriptions
      .filter((subscription) => subscription.provider === provider)
      // The one that matters: a live one before an ended one, then the most recent.
      .toSorted(
        (a, b) =>
          Number(isLiveSubscription(b.status)) - Number(isLiveSubscription(a.status)) ||
          b.providerUpdatedAt.getTime() - a.providerUpdatedAt.getTime(),
      )[0];
  const atActive = currentAt(activeProvider);
  const confirming = input.checkoutReturned && !(atActive && isLiveSubscription(atActive.status));
  const hasCustomerAtActive = input.customers.some((customer) => customer.provider === activeProvider);
  const elsewhere = input.customers[0];
  const legacyProvider =
    !hasCustomerAtActive && !atActive && elsewhere && input.legacyProviders?.includes(elsewhere.provider) ? elsewhere.provider : null;

  if (!hasCustomerAtActive && !atActive && !legacyProvider) {
    return elsewhere
      ? { kind: "other-provider", customerProvider: providerNames[elsewhere.provider], activeProvider: providerNames[activeProvider], confirming }
      : { kind: "no-customer", confirming };
  }
  const managing = legacyProvider ?? activeProvider;
  const current = currentAt(managing);
  const live = current !== undefined && isLiveSubscription(current.status);
  const liveAll = input.subscriptions
    .filter((subscription) => isLiveSubscription(subscription.status))
    .toSorted((a, b) => a.providerUpdatedAt.getTime() - b.providerUpdatedAt.getTime());
  const providersWithSubscriptions = [...new Set(input.subscriptions.map((subscription) => subscription.provider))];
  const cancellable = live && !current.cancelAtPeriodEnd;
  const wanted: SubscriptionAction[] = live ? ["payment_method", "change_plan", ...(cancellable ? (["cancel"] as const) : [])] : [];
  const linked = deepLinks(managing);
  const homeOnly = wanted.filter((action) => !linked.includes(action));
  return {
    kind: "customer",
    provider: providerNames[managing],
    summary: current ? summarize(current, now) : null,
    pastDue: current?.status === "past_due",
    manageable: live,
    cancellable,
    actions: wanted.filter((action) => linked.includes(action)),
    inPortalHome:
      homeOnly.length === 0
        ? null
        : `To ${listOf(homeOnly.map((action) => ACTION_WORDS[action].phrase))}, press Manage billing: ${providerNames[managing]}'s portal has ${homeOnly.length === 1 ? "it" : "them"} on its home page.`,
    legacy: legacyProvider ? { heldBy: providerNames[legacyProvider], activeProvider: providerNames[activeProvider] } : null,
    holdings:
      providersWithSubscriptions.length > 1 || legacyProvider
        ? providersWithSubscriptions.map((provider) => ({ provider: providerNames[provider], summary: summarize(currentAt(provider)!, now) }))
        : [],
    liveSubscriptions: liveAll.length > 1 ? liveAll.map((subscription) => ({ provider: providerNames[subscription.provider], summary: summarize(subscription, now) })) : [],
    confirming,
    confirmed: input.checkoutReturned && !confirming,
  };
}

function summarize(subscription: AccountSubscriptionRow, now: Date): string {
  const plan = findPlan(subscription.plan)?.name ?? "Your plan";
  const periodEnd = subscription.currentPeriodEnd;
  const future = periodEnd !== null && periodEnd.getTime() > now.getTime();
  const status = STATUS_WORDS[subscription.status];
  // Cancelling at the period's end: still usable until then (rows stored before issue 16 keep Lemon Squeezy's "cancelled").
  if (subscription.cancelAtPeriodEnd && future && !subscription.endedAt && subscription.status !== "expired") {
    return `${plan}, cancels on ${DATE.format(periodEnd)}`;
  }
  if (subscription.status === "canceled" || subscription.status === "expired") {
    // The provider's own end (an immediate cancel ends before its period); the period end only when none is stored.
    const end = subscription.endedAt ?? periodEnd;
    if (!end) return `${plan}, ${status}`;
    return `${plan}, ${status}, ${end.getTime() > now.getTime() ? "ends" : "ended"} on ${DATE.format(end)}`;
  }
  const trialEnd = subscription.trialEnd;
  if (subscription.status === "trialing" && trialEnd && trialEnd.getTime() > now.getTime()) {
    return `${plan}, ${status}, trial ends on ${DATE.format(trialEnd)}`;
  }
  if (periodEnd && future && RENEWING.includes(subscription.status)) return `${plan}, ${status}, renews on ${DATE.format(periodEnd)}`;
  return `${plan}, ${status}`;
}

/** "a", "a or b", "a, b or c". */
function listOf(words: string[]): string {
  return words.length <= 1 ? (words[0] ?? "") : `${words.slice(0, -1).join(", ")} or ${words.at(-1)}`;
}
