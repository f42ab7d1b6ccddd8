import { createBillingActivity } from "~/billing/activity.server.ts";
import { PROVIDER_NAMES } from "~/billing/providers/provider.ts";
import { parseConfig } from "~/config/env.server.ts";
import { openDatabase } from "~/db/database.server.ts";

// `npm run billing:activity -- <email> [--limit N]`: the billing history of a user's organisations for support (portal opens,
// checkout starts, applied subscription changes), newest first, on DATABASE_URL or the embedded database.
const args = process.argv.slice(2);
const email = args.find((arg) => !arg.startsWith("--"))?.trim().toLowerCase();
const limitIndex = args.indexOf("--limit");
const limit = limitIndex === -1 ? 50 : Number(args[limitIndex + 1]);

if (!email || !Number.isInteger(limit) || limit < 1 || limit > 10_000) {
  console.error("Usage: npm run billing:activity -- <email> [--limit N]   (N from 1 to 10000, default 50)");
  process.exit(2);
}

try {
  const config = parseConfig(process.env);
  const database = await openDatabase(config.database);
  try {
    const user = await database.prisma.user.findUnique({
      where: { email },
      select: { memberships: { select: { organization: { select: { id: true, name: true } } }, orderBy: { createdAt: "asc" } } },
    });
    if (!user) {
      console.error(`No user with the email ${email}.`);
      process.exitCode = 1;
    } else {
      // The billing owner is an organisation (ADR 028): each of the user's organisations, personal first.
      const activity = createBillingActivity({ prisma: database.prisma, read: database.read, retentionDays: config.billing.activityRetentionDays });
      for (const { organization } of user.memberships) {
        const rows = await activity.recent(organization.id, limit);
        console.log(`# ${organization.name} (${organization.id})`);
        if (rows.length === 0) console.log(`No billing activity in the last ${config.billing.activityRetentionDays} days.`);
        for (const row of rows) {
          const latency = row.latencyMs === null ? "-" : `${row.latencyMs} ms`;
          console.log([row.createdAt.toISOString(), PROVIDER_NAMES[row.provider], row.action, row.intent ?? "-", row.outcome, latency].join("\t"));
        }
      }
    }
  } finally {
    await database.close();
  }
} catch (error) {
  console.error(`Cannot read the billing activity: ${error instanceof Error ? error.message : String(error)}`);
  process.exitCode = 1;
}
