import { hashPassword } from "~/auth/password.server.ts";
import type { PrismaClient } from "~/db/generated/client.ts";
import { DEMO_ACCOUNTS, DEMO_PASSWORD } from "./demo-accounts.ts";

/**
 * Key of the PostgreSQL advisory lock that serialises seeding across instances sharing one
 * database (SPEC: Database). Next to Prisma's migration key (72707369), and distinct from it, so
 * seeding never waits on a `prisma migrate deploy` in progress elsewhere.
 */
export const DEMO_SEED_ADVISORY_LOCK_KEY = 72707370;

/** Seeding failed: one line for the operator; the database's own report stays in `cause`. */
export class DemoSeedError extends Error {
  override readonly name = "DemoSeedError";
  constructor(cause: unknown) {
    super(`Cannot seed the demo users: ${oneLineReason(cause)}.`, { cause });
  }
}

/**
 * Makes sure the SPEC's demo users exist with their customer rows. Safe to run at every start,
 * and from several processes at once on one database: existing users keep their password and sessions.
 */
export async function seedDemoAccounts(prisma: PrismaClient): Promise<{ created: number }> {
  try {
    return await seedOnce(prisma);
  } catch (error) {
    throw new DemoSeedError(error);
  }
}

async function seedOnce(prisma: PrismaClient): Promise<{ created: number }> {
  // Transaction-level lock, released at commit: another instance seeding now waits, then finds the users.
  return prisma.$transaction(
    async (tx) => {
      await tx.$executeRaw`SELECT pg_advisory_xact_lock(${DEMO_SEED_ADVISORY_LOCK_KEY})`;
      let created = 0;
      for (const account of DEMO_ACCOUNTS) {
        const existing = await tx.user.findUnique({ where: { email: account.email }, select: { id: true } });
        const user =
          existing ??
          (await tx.user.create({
            data: { email: account.email, password: { create: { hash: await hashPassword(DEMO_PASSWORD) } } },
            select: { id: true },
          }));
        if (!existing) created++;
        if (account.customer) {
          await tx.customer.upsert({
            where: { userId: user.id },
            create: { userId: user.id, ...account.customer },
            update: account.customer,
          });
        }
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
