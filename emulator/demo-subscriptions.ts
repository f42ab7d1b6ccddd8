import type { ProviderId } from "~/billing/providers/provider.ts";
import { DEMO_ACCOUNTS, type DemoAccount } from "~/demo/demo-accounts.ts";
import { DEMO_SUBSCRIPTIONS_STARTED, demoPeriod } from "~/demo/demo-billing-story.ts";
import { addCustomer, findCustomer, type EmulatedCustomer } from "./customers.ts";
import { findPlan } from "./plans.ts";
import type { EmulatedSubscription } from "./subscriptions.ts";

/**
 * The demo users' subscriptions (SPEC "Demo users", lifecycle contract §4): ids, plans and statuses from
 * `app/demo/demo-accounts.ts`, dates from `app/demo/demo-billing-story.ts`, the same ones the demo seed
 * writes, so `/account` and the portal tell one story. Only the item ids are the emulator's own.
 */
const ITEM_IDS: Record<string, string> = {
  "stripe@demo.test": "si_DemoStripe0001",
  "polar@demo.test": "polar-item",
  "lemon@demo.test": "626262",
  "pastdue@demo.test": "si_DemoPastDue0001",
  "team@demo.test": "si_DemoTeam0001",
};

export const DEMO_SUBSCRIPTIONS = (DEMO_ACCOUNTS as readonly DemoAccount[]).flatMap((account) =>
  account.customer && account.subscription && ITEM_IDS[account.email]
    ? [
        {
          email: account.email,
          provider: account.customer.provider,
          subscriptionId: account.subscription.providerSubscriptionId,
          itemId: ITEM_IDS[account.email]!,
          plan: account.subscription.plan,
          status: account.subscription.status as EmulatedSubscription["status"],
        },
      ]
    : [],
) as [DemoSubscription, DemoSubscription, DemoSubscription, DemoSubscription];

type DemoSubscription = {
  email: string;
  provider: ProviderId;
  subscriptionId: string;
  itemId: string;
  plan: "starter" | "pro" | "team";
  status: EmulatedSubscription["status"];
};

/** The past-due demo customer, used only while `app/demo/demo-accounts.ts` does not list pastdue@demo.test yet. */
const PAST_DUE_FALLBACK_CUSTOMER: EmulatedCustomer = {
  provider: "stripe",
  id: "cus_DemoPastDue0001",
  name: "Pat Pastdue",
  email: "pastdue@demo.test",
  portal: "ready",
};

/** Fresh demo subscriptions for one emulator instance, their periods around `now`. */
export function demoSubscriptions(now: number): EmulatedSubscription[] {
  return DEMO_SUBSCRIPTIONS.map((demo) => {
    const customer = demoCustomer(demo.email, demo.provider);
    const period = demoPeriod(new Date(now));
    return {
      provider: demo.provider,
      id: demo.subscriptionId,
      customer,
      metadata: {},
      plan: findPlan(demo.plan)!,
      status: demo.status,
      cancelAtPeriodEnd: false,
      createdAt: DEMO_SUBSCRIPTIONS_STARTED.getTime(),
      currentPeriodStart: period.start.getTime(),
      currentPeriodEnd: period.end.getTime(),
      canceledAt: null,
      updatedAt: period.start.getTime(),
      card: { brand: "visa", lastFour: demo.status === "past_due" ? "0341" : "4242" },
      checkoutId: null,
      orderId: null,
      itemId: demo.itemId,
    };
  });
}

function demoCustomer(email: string, provider: ProviderId): EmulatedCustomer {
  const account = (DEMO_ACCOUNTS as readonly DemoAccount[]).find((candidate) => candidate.email === email);
  if (account?.customer) {
    const known = findCustomer(account.customer.provider, account.customer.providerCustomerId);
    if (known) return known;
  }
  if (email === PAST_DUE_FALLBACK_CUSTOMER.email && provider === "stripe") {
    if (!findCustomer("stripe", PAST_DUE_FALLBACK_CUSTOMER.id)) addCustomer(PAST_DUE_FALLBACK_CUSTOMER);
    return PAST_DUE_FALLBACK_CUSTOMER;
  }
  throw new Error(`No emulated customer for demo user ${email}`);
}
