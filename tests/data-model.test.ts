import { afterAll, beforeAll, beforeEach, describe, expect, test } from "vitest";
import { createBillingPortal } from "~/billing/portal.server.ts";
import { PROVIDER_IDS, type BillingProvider, type ProviderId } from "~/billing/providers/provider.ts";
import { SUBSCRIPTION_STATUSES } from "~/billing/subscription-status.ts";
import type { Database } from "~/db/database.server.ts";
import { PaymentProvider, SubscriptionStatus } from "~/db/generated/enums.ts";
import { DEMO_ACCOUNTS, type DemoAccount } from "~/demo/demo-accounts.ts";
import { seedDemoAccounts } from "~/demo/seed.server.ts";
import { createTestDatabase } from "./database.ts";
import { personalOrganizationId } from "~/orgs/billing-owner.ts";

// The lifecycle's data model (SPEC: Database; Subscriptions and webhooks), on the embedded
// database and, with TEST_DATABASE_URL, on a PostgreSQL server.

let database: Database;
beforeAll(async () => {
  database = await createTestDatabase();
});
afterAll(() => database.close());

let emails = 0;
async function newUser(): Promise<string> {
  const user = await database.prisma.user.create({ data: { email: `model-${++emails}@example.test` } });
  return user.id;
}

function subscriptionRow(userId: string, provider: ProviderId, providerSubscriptionId: string) {
  return {
    organizationId: personalOrganizationId(userId),
    provider,
    providerSubscriptionId,
    providerCustomerId: "cus_x",
    status: "active" as const,
    providerUpdatedAt: new Date(),
  };
}

describe("data model", () => {
  test("the database knows exactly the app's providers and subscription states", () => {
    expect(Object.values(PaymentProvider).toSorted()).toEqual([...PROVIDER_IDS].toSorted());
    expect(Object.values(SubscriptionStatus).toSorted()).toEqual([...SUBSCRIPTION_STATUSES].toSorted());
  });

  test("a user has at most one customer per provider, and may have one at each provider", async () => {
    const userId = await newUser();
    await database.prisma.customer.create({ data: { organizationId: personalOrganizationId(userId), provider: "stripe", providerCustomerId: "cus_model_1" } });
    await database.prisma.customer.create({ data: { organizationId: personalOrganizationId(userId), provider: "polar", providerCustomerId: "polar-model-1" } });
    await expect(
      database.prisma.customer.create({ data: { organizationId: personalOrganizationId(userId), provider: "stripe", providerCustomerId: "cus_model_2" } }),
    ).rejects.toThrow("Unique constraint failed");
    expect(await database.prisma.customer.count({ where: { organizationId: personalOrganizationId(userId) } })).toBe(2);
  });

  test("a provider's customer id belongs to one user only", async () => {
    const [first, second] = [await newUser(), await newUser()];
    await database.prisma.customer.create({ data: { organizationId: personalOrganizationId(first), provider: "stripe", providerCustomerId: "cus_shared" } });
    await expect(
      database.prisma.customer.create({ data: { organizationId: personalOrganizationId(second), provider: "stripe", providerCustomerId: "cus_shared" } }),
    ).rejects.toThrow("Unique constraint failed");
    // The same id at another provider is another customer.
    await database.prisma.customer.create({ data: { organizationId: personalOrganizationId(second), provider: "polar", providerCustomerId: "cus_shared" } });
  });

  test("a subscription id is unique per provider", async () => {
    const userId = await newUser();
    await database.prisma.subscription.create({ data: subscriptionRow(userId, "stripe", "sub_model") });
    await expect(database.prisma.subscription.create({ data: subscriptionRow(userId, "stripe", "sub_model") })).rejects.toThrow("Unique constraint failed");
    await database.prisma.subscription.create({ data: subscriptionRow(userId, "lemonsqueezy", "sub_model") });
  });

  test("the webhook ledger holds one row per provider event", async () => {
    const event = { provider: "polar" as const, eventId: "msg_model", type: "subscription.updated", outcome: "processed" as const };
    await database.prisma.webhookEvent.create({ data: event });
    await expect(database.prisma.webhookEvent.create({ data: event })).rejects.toThrow("Unique constraint failed");
    await database.prisma.webhookEvent.create({ data: { ...event, provider: "stripe" } });
  });
});

// Seeding hashes one password per demo user (a memory-hard KDF): seconds, not milliseconds.
describe("demo seed", { timeout: 60_000 }, () => {
  // Each test seeds the demo billing rows anew: a test here changes a seeded subscription, which a later seed keeps.
  // The demo users stay (seeding them again would only hash their password again).
  beforeEach(async () => {
    const billed = (DEMO_ACCOUNTS as readonly DemoAccount[]).flatMap(({ customer, subscription }) => (customer && subscription ? [{ customer, subscription }] : []));
    await database.prisma.subscription.deleteMany({
      where: { OR: billed.map(({ customer, subscription }) => ({ provider: customer.provider, providerSubscriptionId: subscription.providerSubscriptionId })) },
    });
    await database.prisma.customer.deleteMany({ where: { OR: billed.map(({ customer }) => customer) } });
  });

  test("seeds the SPEC's demo users with their customers and subscriptions, past due included", async () => {
    await seedDemoAccounts(database.prisma);
    for (const account of DEMO_ACCOUNTS) {
      // The billing owner is the user's personal organisation.
      const { id: userId } = await database.prisma.user.findUniqueOrThrow({ where: { email: account.email } });
      // The demo team's owner bills for Acme; everyone else for themselves.
      const demo: DemoAccount = account;
      const billingOwner = demo.organization?.role === "owner" ? demo.organization.id : personalOrganizationId(userId);
      const user = await database.prisma.organization.findUniqueOrThrow({
        where: { id: billingOwner },
        include: { customers: true, subscriptions: true },
      });
      expect(user.customers.map(({ provider, providerCustomerId }) => ({ provider, providerCustomerId }))).toEqual(
        account.customer ? [account.customer] : [],
      );
      expect(user.subscriptions.map(({ plan, status }) => ({ plan, status }))).toEqual(
        account.subscription ? [{ plan: account.subscription.plan, status: account.subscription.status }] : [],
      );
    }
    const pastDue = await database.prisma.subscription.findFirstOrThrow({ where: { organization: { memberships: { some: { user: { email: "pastdue@demo.test" } } } } } });
    expect(pastDue.status).toBe("past_due");
  });

  test("seeding again keeps a subscription's state that webhooks changed since", async () => {
    await seedDemoAccounts(database.prisma);
    const where = { organization: { memberships: { some: { user: { email: "stripe@demo.test" } } } } };
    const { id } = await database.prisma.subscription.findFirstOrThrow({ where });
    await database.prisma.subscription.update({ where: { id }, data: { status: "canceled", providerUpdatedAt: new Date() } });

    expect(await seedDemoAccounts(database.prisma)).toEqual({ created: 0 });
    expect((await database.prisma.subscription.findFirstOrThrow({ where })).status).toBe("canceled");
  });
});

/** Only the provider's id matters to which customer the portal picks. */
function activeProvider(id: ProviderId): BillingProvider {
  return {
    id,
    intentsNeedingSubscription: ["cancel", "change_plan"],
    createPortal: async () => ({ url: "https://portal.example.test/session", deepLinked: true }),
    createCheckout: async () => ({ url: "https://checkout.example.test/session" }),
  };
}

function portalWith(id: ProviderId) {
  const returnUrlPolicy = { appOrigin: "http://app.test", allowedOrigins: [] };
  return createBillingPortal({ prisma: database.prisma, provider: activeProvider(id), returnUrlPolicy });
}

describe("the portal's customer", () => {

  test("is the user's customer at the active provider, even with an older one elsewhere", async () => {
    const userId = await newUser();
    await database.prisma.customer.create({ data: { organizationId: personalOrganizationId(userId), provider: "stripe", providerCustomerId: "cus_older" } });
    await database.prisma.customer.create({ data: { organizationId: personalOrganizationId(userId), provider: "polar", providerCustomerId: "polar-newer" } });
    expect(await portalWith("polar").findCustomer(personalOrganizationId(userId))).toEqual({ provider: "polar", providerCustomerId: "polar-newer" });
    expect((await portalWith("polar").open({ userId, organizationId: personalOrganizationId(userId), input: {} })).ok).toBe(true);
  });

  test("at another provider only, is the mismatch answer", async () => {
    const userId = await newUser();
    await database.prisma.customer.create({ data: { organizationId: personalOrganizationId(userId), provider: "stripe", providerCustomerId: "cus_elsewhere" } });
    expect(await portalWith("lemonsqueezy").open({ userId, organizationId: personalOrganizationId(userId), input: {} })).toEqual({
      ok: false,
      failure: { kind: "provider-mismatch", customerProvider: "stripe", activeProvider: "lemonsqueezy" },
    });
  });
});
