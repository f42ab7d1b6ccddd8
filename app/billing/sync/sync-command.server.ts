import path from "node:path";
import { pathToFileURL } from "node:url";
import type { Config } from "~/config/env.server.ts";
import type { PrismaClient } from "~/db/generated/client.ts";
import { PROVIDER_IDS, type ProviderId } from "../providers/provider.ts";
import { createBillingSync, type SyncReport, type SyncSelection } from "./sync.server.ts";
import { configuredPlans, syncProviders } from "./sync-providers.server.ts";

export type SyncArguments = { selection: SyncSelection; provider?: ProviderId; dryRun: boolean; json: boolean };

export const SYNC_USAGE = "Usage: npm run billing:sync -- --email <email> | --all [--provider <stripe|polar|lemonsqueezy>] [--dry-run] [--json]";

/** billing:sync's arguments, or one line saying what is wrong with them. */
export function parseSyncArguments(args: readonly string[]): SyncArguments | { error: string } {
  let email: string | undefined;
  let all = false;
  let provider: ProviderId | undefined;
  let dryRun = false;
  let json = false;
  for (let i = 0; i < args.length; i++) {
    const arg = args[i]!;
    if (arg === "--all") all = true;
    else if (arg === "--dry-run") dryRun = true;
    else if (arg === "--json") json = true;
    else if (arg === "--email" || arg === "--provider") {
      const value = args[++i];
      if (value === undefined || value.startsWith("--")) return { error: `${arg} needs a value. ${SYNC_USAGE}` };
      if (arg === "--email") email = value.trim().toLowerCase();
      else if (PROVIDER_IDS.includes(value as ProviderId)) provider = value as ProviderId;
      else return { error: `Unknown provider "${value}": one of ${PROVIDER_IDS.join(", ")}.` };
    } else return { error: `Unknown argument "${arg}". ${SYNC_USAGE}` };
  }
  if (all === (email !== undefined)) return { error: `Give exactly one of --email <email> or --all. ${SYNC_USAGE}` };
  return { selection: email !== undefined ? { email } : { all: true }, provider, dryRun, json };
}

/** A problem with the command's setup (unknown user, provider not configured): its message is safe to print. */
export class SyncSetupError extends Error {
  override readonly name = "SyncSetupError";
}

/** Where the SDKs go when payments are emulated: the emulator the app uses, which this process does not start. */
function emulatorOrigin(config: Config): string | undefined {
  if (!config.billing.emulated) return undefined;
  if (config.billing.emulatorUrl) return config.billing.emulatorUrl;
  if (config.billing.emulatorPort !== 0) return `http://127.0.0.1:${config.billing.emulatorPort}`;
  throw new SyncSetupError("Payments are emulated: set PAYMENT_EMULATOR_URL (or PAYMENT_EMULATOR_PORT) to the emulator the app uses.");
}

/** Lemon Squeezy's SDK has a fixed origin: emulated, its calls are rerouted (the emulator's code, loaded only then). */
async function routeLemonSqueezy(origin: string | undefined): Promise<() => void> {
  if (!origin) return () => {};
  const { tsImport } = await import("tsx/esm/api");
  const routing = (await tsImport(pathToFileURL(path.resolve("emulator/lemonsqueezy-routing.ts")).href, {
    parentURL: import.meta.url,
    tsconfig: path.resolve("tsconfig.json"),
  })) as typeof import("../../../emulator/lemonsqueezy-routing.ts");
  return routing.routeLemonSqueezyApiTo(origin);
}

/** Runs billing:sync and says what it found: stdout lines, stderr lines and the exit status. */
export async function runSyncCommand(options: { config: Config; prisma: PrismaClient; args: SyncArguments }) {
  const { config, prisma, args } = options;
  const origin = emulatorOrigin(config);
  let providers;
  try {
    providers = syncProviders(config, origin);
  } catch (error) {
    // createBillingProvider names the missing variable, never a value.
    throw new SyncSetupError(error instanceof Error ? error.message : "A provider is not configured.");
  }
  if (args.provider && !providers[args.provider]) {
    throw new SyncSetupError(`${args.provider} is neither PAYMENT_PROVIDER nor in BILLING_LEGACY_PROVIDERS.`);
  }
  if ("email" in args.selection) {
    const user = await prisma.user.findUnique({ where: { email: args.selection.email }, select: { id: true } });
    if (!user) throw new SyncSetupError(`No user with the email ${args.selection.email}.`);
  }
  const undo = await routeLemonSqueezy(origin);
  let report: SyncReport;
  try {
    const sync = createBillingSync({ prisma, providers, plans: configuredPlans(config) });
    report = await sync.run(args.selection, { provider: args.provider, dryRun: args.dryRun });
  } finally {
    undo();
  }
  return { ...formatReport(report, args), exitCode: report.errors.length > 0 ? 1 : 0 };
}

export function formatReport(report: SyncReport, args: Pick<SyncArguments, "json" | "dryRun">): { lines: string[]; errors: string[] } {
  if (args.json) return { lines: [JSON.stringify(report)], errors: [] };
  const lines = report.differences.map(
    (d) => `${d.owner}\t${d.provider}\t${d.subscription}\t${d.field}\t${d.before ?? "(none)"} -> ${d.after ?? "(none)"}`,
  );
  const applied = args.dryRun ? "dry run, nothing changed" : "applied";
  lines.push(
    `${report.customers} customer${report.customers === 1 ? "" : "s"} checked, ${report.differences.length} difference${report.differences.length === 1 ? "" : "s"} (${applied}), ${report.errors.length} error${report.errors.length === 1 ? "" : "s"}.`,
  );
  const errors = report.errors.map((e) => `${e.owner}\t${e.provider}\tnot read (${e.reason}); nothing of this customer was changed`);
  return { lines, errors };
}
