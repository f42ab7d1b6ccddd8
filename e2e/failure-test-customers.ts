import type { ProviderId } from "../app/billing/providers/provider.ts";
import { EMULATOR_ONLY_CUSTOMER_IDS } from "../emulator/customers.ts";

/**
 * Customers that only the provider-failure tests use, where the app would otherwise answer from
 * its cache: Lemon Squeezy portal links are cached per customer, so a failure test signed in as a
 * customer whose link another test fetched would never reach the (failing) provider.
 * Seeded by e2e/seed-failure-customer.ts; the emulator knows them as its own customers.
 */
export const FAILURE_TEST_CUSTOMERS: Partial<Record<ProviderId, { email: string; providerCustomerId: string }>> = {
  lemonsqueezy: { email: "failures@e2e.test", providerCustomerId: EMULATOR_ONLY_CUSTOMER_IDS.lemonSqueezySecondSubscriber },
};
