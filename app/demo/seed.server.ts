import { hashPassword } from "~/auth/password.server.ts";
import type { PrismaClient } from "~/db/generated/client.ts";
import { DEMO_ACCOUNTS, DEMO_PASSWORD } from "./demo-accounts.ts";

/**
 * Makes sure the SPEC's demo users exist with their customer rows. Safe to
 * run at every start: existing users keep their password and sessions.
 */
export async function seedDemoAccounts(prisma: PrismaClient): Promise<{ created: number }> {
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
    if (account.customer) {
      await prisma.customer.upsert({
        where: { userId: user.id },
        create: { userId: user.id, ...account.customer },
        update: account.customer,
      });
    }
  }
  return { created };
}
