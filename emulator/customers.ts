import type { ProviderId } from "~/billing/providers/provider.ts";
import { DEMO_ACCOUNTS } from "~/demo/demo-accounts.ts";

/** A customer as the emulated providers know them. */
export type EmulatedCustomer = {
  provider: ProviderId;
  id: string;
  name: string;
  email: string;
  /**
   * "ready": the portal opens; "no-subscription": Lemon Squeezy answers
   * `customer_portal: null`; "no-default-configuration": Stripe refuses a
   * session unless a `configuration` is passed (the account never saved its
   * portal settings).
   */
  portal: "ready" | "no-subscription" | "no-default-configuration";
};

/** Customers that exist only at the emulator, so tests can reach each provider answer. */
export const EMULATOR_ONLY_CUSTOMER_IDS = {
  stripeWithoutPortalConfiguration: "cus_EmuNoPortalConfig",
  lemonSqueezyWithoutSubscription: "900001",
  lemonSqueezySecondSubscriber: "900002",
} as const;

const EMULATOR_ONLY_CUSTOMERS: readonly EmulatedCustomer[] = [
  {
    provider: "stripe",
    id: EMULATOR_ONLY_CUSTOMER_IDS.stripeWithoutPortalConfiguration,
    name: "Una Unconfigured",
    email: "unconfigured@emulator.test",
    portal: "no-default-configuration",
  },
  {
    provider: "lemonsqueezy",
    id: EMULATOR_ONLY_CUSTOMER_IDS.lemonSqueezyWithoutSubscription,
    name: "Nils Nosub",
    email: "nosub@emulator.test",
    portal: "no-subscription",
  },
  {
    provider: "lemonsqueezy",
    id: EMULATOR_ONLY_CUSTOMER_IDS.lemonSqueezySecondSubscriber,
    name: "Sami Second",
    email: "second@emulator.test",
    portal: "ready",
  },
];

const DEMO_CUSTOMERS: readonly EmulatedCustomer[] = DEMO_ACCOUNTS.flatMap((account) =>
  account.customer
    ? [
        {
          provider: account.customer.provider,
          id: account.customer.providerCustomerId,
          name: account.name,
          email: account.email,
          portal: "ready" as const,
        },
      ]
    : [],
);

const CUSTOMERS = [...DEMO_CUSTOMERS, ...EMULATOR_ONLY_CUSTOMERS];

export function findCustomer(provider: ProviderId, id: string): EmulatedCustomer | undefined {
  return CUSTOMERS.find((customer) => customer.provider === provider && customer.id === id);
}

/** Polar lets a session be opened by the app's own id for the customer; the emulator uses the email. */
export function findCustomerByExternalId(provider: ProviderId, externalId: string): EmulatedCustomer | undefined {
  return CUSTOMERS.find((customer) => customer.provider === provider && customer.email === externalId);
}
