import { hashPassword } from "~/auth/password.server.ts";
import { DEMO_PLAN_PROVIDER_IDS } from "~/billing/plans.ts";
import type { PrismaClient } from "~/db/generated/client.ts";
import { DEMO_ACCOUNTS, DEMO_PASSWORD } from "./demo-accounts.ts";

/** The seeded state's provider time: as old as can be, so any real event from the emulator supersedes it. */
const SEEDED_STATE_TIME = new Date("2026-01-01T00:00:00Z");
const DAY_MS = 24 * 60 * 60 * 1000;

/**
 * Makes sure the SPEC's demo users exist with their customer and subscription
 * rows. Safe to run at every start: existing users keep their password and
 * sessions, and a subscription webhooks have since changed keeps its state.
 */
export async function seedDemoAccounts(prisma: PrismaClient, now: () => Date = () => new Date()): Promise<{ created: number }> {
  let created = 0;
  for (const account of DEMO_ACCOUNTS) {
    const existing = await prisma.user.findUnique({ where: { email: account.email }, select: { id: true } });
    const user =
      existing ??
      (await prisma.user.create({
        data: { email: account.email, password: { create: { hash: await hashPassword(DEMO_PASSWORD) } } },
        select: { id: true },
      }));
    if (!existing) created++;
    if (!account.customer) continue;

    const { provider, providerCustomerId } = account.customer;
    await prisma.customer.upsert({
      where: { userId_provider: { userId: user.id, provider } },
      create: { userId: user.id, provider, providerCustomerId },
      update: { providerCustomerId },
    });
    const { providerSubscriptionId, plan, status } = account.subscription;
    await prisma.subscription.upsert({
      where: { provider_providerSubscriptionId: { provider, providerSubscriptionId } },
      create: {
        userId: user.id,
        provider,
        providerSubscriptionId,
        providerCustomerId,
        plan,
        providerPlanId: DEMO_PLAN_PROVIDER_IDS[provider][plan],
        status,
        currentPeriodEnd: new Date(now().getTime() + 30 * DAY_MS),
        providerUpdatedAt: SEEDED_STATE_TIME,
      },
      update: {},
    });
  }
  return { created };
}
