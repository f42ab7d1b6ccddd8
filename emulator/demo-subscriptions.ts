import type { ProviderId } from "~/billing/providers/provider.ts";
import { DEMO_ACCOUNTS, type DemoAccount } from "~/demo/demo-accounts.ts";
import { addCustomer, findCustomer, type EmulatedCustomer } from "./customers.ts";
import { findPlan } from "./plans.ts";
import { MONTH_MS, type EmulatedSubscription } from "./subscriptions.ts";

/**
 * The demo users' subscriptions (SPEC "Demo users", lifecycle contract §4).
 * The ids live here until `app/demo/demo-accounts.ts` carries them; the demo
 * seed must use the same ones.
 */
export const DEMO_SUBSCRIPTIONS = [
  { email: "stripe@demo.test", provider: "stripe", subscriptionId: "sub_DemoStripe0001", itemId: "si_DemoStripe0001", plan: "pro", status: "active" },
  { email: "polar@demo.test", provider: "polar", subscriptionId: "0b6f3d2c-7a41-4e59-8c13-5d2e9f0a4b21", itemId: "polar-item", plan: "starter", status: "active" },
  { email: "lemon@demo.test", provider: "lemonsqueezy", subscriptionId: "525252", itemId: "626262", plan: "pro", status: "active" },
  { email: "pastdue@demo.test", provider: "stripe", subscriptionId: "sub_DemoPastDue0001", itemId: "si_DemoPastDue0001", plan: "pro", status: "past_due" },
] as const satisfies readonly {
  email: string;
  provider: ProviderId;
  subscriptionId: string;
  itemId: string;
  plan: "starter" | "pro";
  status: EmulatedSubscription["status"];
}[];

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
    // A past-due subscription failed its renewal a few days ago; the others renew in about a fortnight.
    const periodStart = demo.status === "past_due" ? now - 3 * 86_400_000 : now - 16 * 86_400_000;
    return {
      provider: demo.provider,
      id: demo.subscriptionId,
      customer,
      metadata: {},
      plan: findPlan(demo.plan)!,
      status: demo.status,
      cancelAtPeriodEnd: false,
      createdAt: Date.parse("2026-01-05T10:00:00Z"),
      currentPeriodStart: periodStart,
      currentPeriodEnd: periodStart + MONTH_MS,
      canceledAt: null,
      updatedAt: periodStart,
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
