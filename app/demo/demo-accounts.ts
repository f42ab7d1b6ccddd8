import type { PlanId } from "~/billing/plans.ts";
import type { ProviderId } from "~/billing/providers/provider.ts";
import type { SubscriptionStatus } from "~/billing/subscription-status.ts";

/** Password of every demo user (SPEC: Demo users). */
export const DEMO_PASSWORD = "portal-demo-pass";

export type DemoAccount = {
  email: string;
  name: string;
  /** The customer at the provider, or null for a user who never subscribed. */
  customer: { provider: ProviderId; providerCustomerId: string } | null;
  /** The customer's subscription, as the emulator also knows it; `quantity`: seats of a per-seat plan. */
  subscription: { providerSubscriptionId: string; plan: PlanId; status: SubscriptionStatus; quantity?: number } | null;
  /**
   * The shared demo organisation this user belongs to, and their role in it. The owner's customer and subscription
   * are the organisation's; without it they are the user's personal organisation's.
   */
  organization?: { id: string; name: string; role: "owner" | "admin" | "member" };
};

/** The demo team (SPEC "Demo users"): its three members are its three seats. */
export const DEMO_ORGANIZATION = { id: "org_demo_acme", name: "Acme" } as const;

/**
 * Fixed ids, so that the seed (app/demo/seed.server.ts) and the provider
 * emulator (emulator/) agree on who exists without talking to each other.
 * Polar's ids are UUIDs and Lemon Squeezy's are numeric strings, as at the
 * real providers.
 */
export const DEMO_ACCOUNTS = [
  {
    email: "stripe@demo.test",
    name: "Stella Stripe",
    customer: { provider: "stripe", providerCustomerId: "cus_DemoStripe0001" },
    subscription: { providerSubscriptionId: "sub_DemoStripe0001", plan: "pro", status: "active" },
  },
  {
    email: "polar@demo.test",
    name: "Paul Polar",
    customer: { provider: "polar", providerCustomerId: "5f0c2a1e-8d3b-4c7a-9e21-6b4d8f0a2c11" },
    subscription: { providerSubscriptionId: "5f0c2a1e-0000-4c7a-9e21-6b4d8f0a5b01", plan: "starter", status: "active" },
  },
  {
    email: "lemon@demo.test",
    name: "Lena Lemon",
    customer: { provider: "lemonsqueezy", providerCustomerId: "424242" },
    subscription: { providerSubscriptionId: "525252", plan: "pro", status: "active" },
  },
  {
    email: "pastdue@demo.test",
    name: "Pat Pastdue",
    customer: { provider: "stripe", providerCustomerId: "cus_DemoPastDue0001" },
    subscription: { providerSubscriptionId: "sub_DemoPastDue0001", plan: "pro", status: "past_due" },
  },
  { email: "nobody@demo.test", name: "Nora Nobody", customer: null, subscription: null },
  {
    email: "team@demo.test",
    name: "Tess Team",
    customer: { provider: "stripe", providerCustomerId: "cus_DemoTeam0001" },
    subscription: { providerSubscriptionId: "sub_DemoTeam0001", plan: "team", status: "active", quantity: 3 },
    organization: { ...DEMO_ORGANIZATION, role: "owner" },
  },
  { email: "admin@demo.test", name: "Ada Admin", customer: null, subscription: null, organization: { ...DEMO_ORGANIZATION, role: "admin" } },
  { email: "member@demo.test", name: "Max Member", customer: null, subscription: null, organization: { ...DEMO_ORGANIZATION, role: "member" } },
] as const satisfies readonly DemoAccount[];
