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
  /** The app's own id for the customer (Polar `external_id`); the email when unset. */
  externalId?: string;
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

const CUSTOMERS: EmulatedCustomer[] = [...DEMO_CUSTOMERS, ...EMULATOR_ONLY_CUSTOMERS];

/** Customers created by emulated checkouts; oldest dropped beyond this so a long demo stays small. */
const MAX_CHECKOUT_CUSTOMERS = 50_000;
const CHECKOUT_CUSTOMERS = new Map<string, EmulatedCustomer>();

/** Makes a customer known to the portal endpoints (ids are random, so emulators in one process never clash). */
export function addCustomer(customer: EmulatedCustomer): void {
  CHECKOUT_CUSTOMERS.set(`${customer.provider}:${customer.id}`, customer);
  if (CHECKOUT_CUSTOMERS.size > MAX_CHECKOUT_CUSTOMERS) CHECKOUT_CUSTOMERS.delete(CHECKOUT_CUSTOMERS.keys().next().value!);
}

function allCustomers(): Iterable<EmulatedCustomer> {
  return [...CUSTOMERS, ...CHECKOUT_CUSTOMERS.values()];
}

export function findCustomer(provider: ProviderId, id: string): EmulatedCustomer | undefined {
  return CHECKOUT_CUSTOMERS.get(`${provider}:${id}`) ?? CUSTOMERS.find((customer) => customer.provider === provider && customer.id === id);
}

/** Polar lets a session be opened by the app's own id for the customer; the emulator uses the email when it has none. */
export function findCustomerByExternalId(provider: ProviderId, externalId: string): EmulatedCustomer | undefined {
  for (const customer of allCustomers()) {
    if (customer.provider === provider && (customer.externalId ?? customer.email) === externalId) return customer;
  }
  return undefined;
}

/** Lemon Squeezy keeps one customer per email in a store. */
export function findCustomerByEmail(provider: ProviderId, email: string): EmulatedCustomer | undefined {
  for (const customer of allCustomers()) if (customer.provider === provider && customer.email === email) return customer;
  return undefined;
}
