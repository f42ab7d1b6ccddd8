import type { ProviderId } from "~/billing/providers/provider.ts";
import type { Database } from "~/db/database.server.ts";
import { addCustomer } from "../../emulator/customers.ts";
import { findPlan } from "../../emulator/plans.ts";
import type { ProviderEmulator } from "../../emulator/provider-emulator.ts";
import { MONTH_MS } from "../../emulator/subscriptions.ts";
import { personalOrganizationId } from "~/orgs/billing-owner.ts";

/**
 * A user with a customer at the provider, known to the emulator and to our database, and `count` active Pro
 * subscriptions there that our database does not know yet (as if made in the provider's dashboard).
 */
export function subscriberFactory(emulator: () => ProviderEmulator, database: () => Database, prefix: string, firstNumber = 0) {
  let n = firstNumber;
/** A user with a customer at the provider (known to the emulator and to us), and `count` subscriptions there. */
return async function subscriber(provider: ProviderId, count: number) {
  n += 1;
  const email = `${prefix}-${provider}-${n}@example.test`;
  const customerId =
    provider === "stripe" ? `cus_${prefix}${n}` : provider === "polar" ? `5e4c7a52-0000-4000-8000-${String(n).padStart(12, "0")}` : String(880_000 + n);
  const customer = { provider, id: customerId, name: `Sync ${n}`, email, portal: "ready" as const };
  addCustomer(customer);
  const now = Date.now();
  const ids: string[] = [];
  for (let i = 0; i < count; i++) {
    const id = provider === "stripe" ? `sub_${prefix}${n}x${i}` : provider === "polar" ? `6e4c7a52-0000-4000-${String(n).padStart(4, "0")}-${String(i).padStart(12, "0")}` : String(n * 1000 + 500_000 + i);
    ids.push(id);
    emulator().lifecycle.subscriptions.add({
      provider,
      id,
      customer,
      metadata: {},
      plan: findPlan("pro")!,
      status: "active",
      cancelAtPeriodEnd: false,
      createdAt: now - i * 1000,
      currentPeriodStart: now,
      currentPeriodEnd: now + MONTH_MS,
      canceledAt: null,
      updatedAt: now,
      card: { brand: "visa", lastFour: "4242" },
      checkoutId: null,
      orderId: null,
      itemId: provider === "lemonsqueezy" ? String(n * 1000 + 600_000 + i) : `si_${prefix}${n}x${i}`,
    });
  }
  const user = await database().prisma.user.create({ data: { email } });
  await database().prisma.customer.create({ data: { organizationId: personalOrganizationId(user.id), provider, providerCustomerId: customerId } });
  return { email, userId: user.id, customerId, ids };
  };
}
