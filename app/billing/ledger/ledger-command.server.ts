import { PROVIDER_IDS, type ProviderId } from "../providers/provider.ts";
import type { Ledger, LedgerFilter, ReplayResult } from "./ledger.server.ts";

export const EVENTS_USAGE = "Usage: npm run billing:events -- [--unlinked | --failed] [--since <date>]";
export const REPLAY_USAGE = "Usage: npm run billing:replay -- <stripe|polar|lemonsqueezy> <event-id> | --unlinked";

type Output = { lines: string[]; errors: string[]; exitCode: number };

/** billing:events' arguments, or one line saying what is wrong. */
export function parseEventsArguments(args: readonly string[]): LedgerFilter | { error: string } {
  const filter: LedgerFilter = {};
  for (let i = 0; i < args.length; i++) {
    const arg = args[i]!;
    if (arg === "--unlinked" || arg === "--failed") {
      if (filter.outcome) return { error: `Give --unlinked or --failed, not both. ${EVENTS_USAGE}` };
      filter.outcome = arg === "--unlinked" ? "unlinked" : "failed";
    } else if (arg === "--since") {
      const value = args[++i];
      const since = value === undefined ? Number.NaN : Date.parse(value);
      if (Number.isNaN(since)) return { error: `--since needs a date (e.g. 2026-12-01 or 2026-12-01T10:00:00Z). ${EVENTS_USAGE}` };
      filter.since = new Date(since);
    } else return { error: `Unknown argument "${arg}". ${EVENTS_USAGE}` };
  }
  return filter;
}

export async function runEventsCommand(ledger: Ledger, filter: LedgerFilter): Promise<Output> {
  const entries = await ledger.list(filter);
  const lines = entries.map((entry) =>
    [entry.receivedAt.toISOString(), entry.provider, entry.eventId, entry.type, entry.outcome, entry.replayable ? "replayable" : "payload pruned"].join("\t"),
  );
  lines.push(`${entries.length} event${entries.length === 1 ? "" : "s"}.`);
  return { lines, errors: [], exitCode: 0 };
}

export type ReplayArguments = { unlinked: true } | { provider: ProviderId; eventId: string };

export function parseReplayArguments(args: readonly string[]): ReplayArguments | { error: string } {
  if (args.length === 1 && args[0] === "--unlinked") return { unlinked: true };
  if (args.length !== 2 || args.some((arg) => arg.startsWith("--"))) return { error: REPLAY_USAGE };
  const [provider, eventId] = args as [string, string];
  if (!PROVIDER_IDS.includes(provider as ProviderId)) return { error: `Unknown provider "${provider}": one of ${PROVIDER_IDS.join(", ")}.` };
  return { provider: provider as ProviderId, eventId };
}

function describe(result: ReplayResult): string {
  switch (result.status) {
    case "applied":
      return result.outcome === "processed"
        ? "applied"
        : result.outcome === "unlinked"
          ? "still unlinked (no known user or customer)"
          : "changed nothing (a newer state is stored, or the event carries no subscription)";
    case "already-applied":
      return "already applied; nothing done";
    case "pruned":
      return "its payload is past the retention period and was cleared";
    case "not-found":
      return "not in the ledger";
  }
}

export async function runReplayCommand(ledger: Ledger, args: ReplayArguments): Promise<Output> {
  if ("unlinked" in args) {
    const results = await ledger.replayUnlinked();
    const lines = results.map(({ provider, eventId, result }) => `${provider}\t${eventId}\t${describe(result)}`);
    const applied = results.filter(({ result }) => result.status === "applied" && result.outcome === "processed").length;
    lines.push(`${results.length} unlinked event${results.length === 1 ? "" : "s"} replayed, ${applied} applied.`);
    return { lines, errors: [], exitCode: 0 };
  }
  const result = await ledger.replay(args.provider, args.eventId);
  const line = `${args.provider} event ${args.eventId}: ${describe(result)}.`;
  return result.status === "not-found" || result.status === "pruned"
    ? { lines: [], errors: [line], exitCode: 1 }
    : { lines: [line], errors: [], exitCode: 0 };
}
