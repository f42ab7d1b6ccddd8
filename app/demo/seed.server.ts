import { hashPassword } from "~/auth/password.server.ts";
import { DEMO_PLAN_PROVIDER_IDS } from "~/billing/plans.ts";
import { personalOrganizationId } from "~/orgs/billing-owner.ts";
import type { PrismaClient } from "~/db/generated/client.ts";
import { DEMO_ACCOUNTS, DEMO_PASSWORD, type DemoAccount } from "./demo-accounts.ts";
import { demoPeriod } from "./demo-billing-story.ts";

/**
 * Key of the PostgreSQL advisory lock that serialises seeding across instances sharing one
 * database (SPEC: Database). Next to Prisma's migration key (72707369), and distinct from it, so
 * seeding never waits on a `prisma migrate deploy` in progress elsewhere.
 */
export const DEMO_SEED_ADVISORY_LOCK_KEY = 72707370;

/** The seeded state's provider time: as old as can be, so any real event from the emulator supersedes it. */
const SEEDED_STATE_TIME = new Date("2026-01-01T00:00:00Z");

/** Seeding failed: one line for the operator; the database's own report stays in `cause`. */
export class DemoSeedError extends Error {
  override readonly name = "DemoSeedError";
  constructor(cause: unknown) {
    super(`Cannot seed the demo users: ${oneLineReason(cause)}.`, { cause });
  }
}

/**
 * Makes sure the SPEC's demo users exist with their customer and subscription rows. Safe to run
 * at every start, and from several processes at once on one database: existing users keep their
 * password and sessions, and a subscription webhooks have since changed keeps its state.
 */
export async function seedDemoAccounts(
  prisma: PrismaClient,
  now: () => Date = () => new Date(),
  hash: (password: string) => Promise<string> = (password) => hashPassword(password),
): Promise<{ created: number }> {
  try {
    return await seedOnce(prisma, now, hash);
  } catch (error) {
    throw new DemoSeedError(error);
  }
}

async function seedOnce(prisma: PrismaClient, now: () => Date, hash: (password: string) => Promise<string>): Promise<{ created: number }> {
  // Transaction-level lock, released at commit: another instance seeding now waits, then finds the users.
  return prisma.$transaction(
    async (tx) => {
      await tx.$executeRaw`SELECT pg_advisory_xact_lock(${DEMO_SEED_ADVISORY_LOCK_KEY})`;
      let created = 0;
      // One hash for every demo user: they share a published password, and eight memory-hard hashes in a row
      // made a first start (and each test that starts the app at the standard cost) seconds slower.
      let demoHash: Promise<string> | undefined;
      for (const account of DEMO_ACCOUNTS) {
        const existing = await tx.user.findUnique({ where: { email: account.email }, select: { id: true } });
        const user =
          existing ??
          (await tx.user.create({
            data: { email: account.email, password: { create: { hash: await (demoHash ??= hash(DEMO_PASSWORD)) } } },
            select: { id: true },
          }));
        if (!existing) created++;
        const demo: DemoAccount = account;
        if (demo.organization) {
          // The shared demo organisation (Acme), and this user's membership in it; each user keeps their personal one too.
          await tx.organization.upsert({
            where: { id: demo.organization.id },
            create: { id: demo.organization.id, name: demo.organization.name },
            update: {},
          });
          await tx.membership.upsert({
            where: { organizationId_userId: { organizationId: demo.organization.id, userId: user.id } },
            create: { organizationId: demo.organization.id, userId: user.id, role: demo.organization.role },
            update: {},
          });
        }
        if (!demo.customer || !demo.subscription) continue;

        const { provider, providerCustomerId } = demo.customer;
        // The billing owner: the demo organisation an owner bills for, else the personal organisation the database
        // made with the user (ADR 028).
        const organizationId = demo.organization?.role === "owner" ? demo.organization.id : personalOrganizationId(user.id);
        await tx.customer.upsert({
          where: { organizationId_provider: { organizationId, provider } },
          create: { organizationId, provider, providerCustomerId },
          update: { providerCustomerId },
        });
        const { providerSubscriptionId, plan, status, quantity } = demo.subscription;
        await tx.subscription.upsert({
          where: { provider_providerSubscriptionId: { provider, providerSubscriptionId } },
          create: {
            organizationId,
            provider,
            providerSubscriptionId,
            providerCustomerId,
            plan,
            providerPlanId: DEMO_PLAN_PROVIDER_IDS[provider][plan],
            status,
            quantity: quantity ?? null,
            // The same renewal day the emulator's portal shows (demo-billing-story.ts).
            currentPeriodEnd: demoPeriod(now()).end,
            // A past-due one failed its renewal at the period's start (the story the emulator tells too): the
            // entitlement grace counts from then.
            pastDueSince: status === "past_due" ? demoPeriod(now()).start : null,
            providerUpdatedAt: SEEDED_STATE_TIME,
          },
          update: {},
        });
      }
      return { created };
    },
    // Waiting for the lock counts against the transaction's time; the first seed hashes a password
    // per demo user (~0.3 s each) while the others wait: room for several instances in a row.
    { maxWait: 10_000, timeout: 60_000 },
  );
}

/** Prisma's messages span many lines (the call site, then the reason last): keep the code and the reason. */
function oneLineReason(error: unknown): string {
  const message = error instanceof Error ? error.message : String(error);
  const lastLine = message
    .split("\n")
    .map((line) => line.trim())
    .filter(Boolean)
    .at(-1);
  const code = typeof error === "object" && error !== null && "code" in error ? String(error.code) : undefined;
  const reason = (lastLine ?? "unknown error").replace(/\.$/, "");
  return code && !reason.includes(code) ? `${reason} (${code})` : reason;
}
