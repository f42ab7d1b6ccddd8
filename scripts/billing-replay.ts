import { createLedger } from "~/billing/ledger/ledger.server.ts";
import { parseReplayArguments, runReplayCommand } from "~/billing/ledger/ledger-command.server.ts";
import { perProvider } from "~/billing/providers/registry.server.ts";
import { parseConfig } from "~/config/env.server.ts";
import { openDatabase } from "~/db/database.server.ts";

// `npm run billing:replay` (SPEC "Keeping billing state true"): the webhook ledger, on DATABASE_URL or the embedded database.
const parsed = parseReplayArguments(process.argv.slice(2));
if ("error" in parsed) {
  console.error(parsed.error);
  process.exit(1);
}

try {
  const config = parseConfig(process.env);
  const database = await openDatabase(config.database);
  try {
    const ledger = createLedger({
      prisma: database.prisma,
      plans: perProvider((id) => config.billing[id].plans),
      retentionDays: config.billing.eventRetentionDays,
    });
    const { lines, errors, exitCode } = await runReplayCommand(ledger, parsed);
    for (const line of lines) console.log(line);
    for (const line of errors) console.error(line);
    process.exitCode = exitCode;
  } finally {
    await database.close();
  }
} catch (error) {
  const known = error instanceof Error && error.name === "ConfigError";
  console.error(known ? error.message : `billing:replay failed (${error instanceof Error ? error.name : typeof error}).`);
  process.exitCode = 1;
}
