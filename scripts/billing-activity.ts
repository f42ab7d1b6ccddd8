import { createBillingActivity } from "~/billing/activity.server.ts";
import { PROVIDER_NAMES } from "~/billing/providers/provider.ts";
import { parseConfig } from "~/config/env.server.ts";
import { openDatabase } from "~/db/database.server.ts";

// `npm run billing:activity -- <email> [--limit N]`: a user's billing history for support (portal opens,
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
    const user = await database.prisma.user.findUnique({ where: { email }, select: { id: true } });
    if (!user) {
      console.error(`No user with the email ${email}.`);
      process.exitCode = 1;
    } else {
      const activity = createBillingActivity({ prisma: database.prisma, read: database.read, retentionDays: config.billing.activityRetentionDays });
      const rows = await activity.recent(user.id, limit);
      if (rows.length === 0) console.log(`No billing activity for ${email} in the last ${config.billing.activityRetentionDays} days.`);
      for (const row of rows) {
        const latency = row.latencyMs === null ? "-" : `${row.latencyMs} ms`;
        console.log([row.createdAt.toISOString(), PROVIDER_NAMES[row.provider], row.action, row.intent ?? "-", row.outcome, latency].join("\t"));
      }
    }
  } finally {
    await database.close();
  }
} catch (error) {
  console.error(`Cannot read the billing activity: ${error instanceof Error ? error.message : String(error)}`);
  process.exitCode = 1;
}
