import type { Prisma, PrismaClient } from "~/db/generated/client.ts";
import { logEvent } from "~/observability/log.server.ts";
import type { PlanId } from "../plans.ts";
import type { ProviderId, VerifiedWebhook } from "../providers/provider.ts";
import { providerModule } from "../providers/registry.server.ts";
import { applyBillingEvent, type Transaction } from "../subscription-state.server.ts";

const DAY_MS = 24 * 60 * 60 * 1000;

function payloadOf(webhook: VerifiedWebhook): Prisma.InputJsonValue | undefined {
  return webhook.payload === null || webhook.payload === undefined ? undefined : (webhook.payload as Prisma.InputJsonValue);
}

/**
 * Claims an event in the ledger inside the caller's transaction, keeping its verified payload: true when this
 * delivery is the one to apply it (a new event, or one whose earlier delivery failed), false for a duplicate.
 * The row is the lock: a concurrent delivery of the same event waits on it, then finds it taken.
 */
export async function claimEvent(tx: Transaction, provider: ProviderId, webhook: VerifiedWebhook): Promise<boolean> {
  const type = webhook.type.slice(0, 200);
  const claimed = await tx.webhookEvent.createMany({
    data: [{ provider, eventId: webhook.eventId, type, outcome: "ignored", payload: payloadOf(webhook) }],
    skipDuplicates: true,
  });
  if (claimed.count === 1) return true;
  const retried = await tx.webhookEvent.updateMany({
    where: { provider, eventId: webhook.eventId, outcome: "failed" },
    data: { outcome: "ignored", payload: payloadOf(webhook) },
  });
  return retried.count === 1;
}

/** Keeps a verified event whose apply failed (its transaction rolled back), so billing:events --failed lists it. Best effort. */
export async function recordFailedEvent(prisma: PrismaClient, provider: ProviderId, webhook: VerifiedWebhook): Promise<void> {
  try {
    await prisma.webhookEvent.createMany({
      data: [{ provider, eventId: webhook.eventId, type: webhook.type.slice(0, 200), outcome: "failed", payload: payloadOf(webhook) }],
      skipDuplicates: true,
    });
  } catch {
    // The database is what failed: the provider's redelivery is the way back.
  }
}

export type LedgerFilter = { outcome?: "unlinked" | "failed"; since?: Date };

export type LedgerEntry = {
  provider: ProviderId;
  eventId: string;
  type: string;
  receivedAt: Date;
  outcome: string;
  /** Whether the payload is still kept (within the retention), so the event can be replayed. */
  replayable: boolean;
};

export type ReplayResult =
  | { status: "applied"; outcome: "processed" | "ignored" | "unlinked" }
  | { status: "already-applied" }
  | { status: "not-found" }
  | { status: "pruned" };

/**
 * The webhook ledger beyond deduplication (SPEC "Keeping billing state true"): each verified payload kept for the
 * retention period, listed, and applied again on demand with the same order-safety (the same apply function) and
 * idempotency (an event applied once is never applied twice) as live delivery.
 */
export function createLedger(deps: {
  prisma: PrismaClient;
  plans: Record<ProviderId, Partial<Record<PlanId, string>>>;
  retentionDays: number;
}) {
  const { prisma, plans } = deps;

  async function list(filter: LedgerFilter = {}, limit = 1000): Promise<LedgerEntry[]> {
    const rows = await prisma.webhookEvent.findMany({
      where: {
        ...(filter.outcome ? { outcome: filter.outcome } : {}),
        ...(filter.since ? { receivedAt: { gte: filter.since } } : {}),
      },
      orderBy: [{ receivedAt: "asc" }, { id: "asc" }],
      take: limit,
      select: { provider: true, eventId: true, type: true, receivedAt: true, outcome: true, payload: true },
    });
    return rows.map(({ payload, ...row }) => ({ ...row, replayable: payload !== null }));
  }

  /** Applies one stored event again; an event already processed is left alone (idempotent). */
  async function replay(provider: ProviderId, eventId: string): Promise<ReplayResult> {
    return prisma.$transaction(async (tx) => {
      // Locks the row: a live redelivery of the same event waits, then finds it applied.
      const rows = await tx.$queryRaw<{ type: string; outcome: string; payload: unknown }[]>`
        SELECT "type", "outcome"::text AS "outcome", "payload" FROM "WebhookEvent"
        WHERE "provider" = ${provider}::"PaymentProvider" AND "eventId" = ${eventId} FOR UPDATE`;
      const row = rows[0];
      if (!row) return { status: "not-found" } as const;
      if (row.outcome === "processed") return { status: "already-applied" } as const;
      if (row.payload === null) return { status: "pruned" } as const;
      const webhook: VerifiedWebhook = { eventId, type: row.type, payload: row.payload };
      const outcome = await applyBillingEvent(tx, provider, providerModule(provider).webhooks.parse(webhook), plans);
      await tx.webhookEvent.update({ where: { provider_eventId: { provider, eventId } }, data: { outcome } });
      return { status: "applied", outcome } as const;
    });
  }

  /** Every stored unlinked event, oldest first (say, once the user they name has signed up). */
  async function replayUnlinked(): Promise<{ provider: ProviderId; eventId: string; result: ReplayResult }[]> {
    const entries = await list({ outcome: "unlinked" }, 100_000);
    const results = [];
    for (const entry of entries.filter((each) => each.replayable)) {
      results.push({ provider: entry.provider, eventId: entry.eventId, result: await replay(entry.provider, entry.eventId) });
    }
    return results;
  }

  /** Clears payloads older than the retention; the rows stay, so a late redelivery is still known. */
  async function prune(): Promise<number> {
    const cutoff = new Date(Date.now() - deps.retentionDays * DAY_MS);
    return prisma.$executeRaw`
      UPDATE "WebhookEvent" SET "payload" = NULL WHERE "receivedAt" < ${cutoff} AND "payload" IS NOT NULL`;
  }

  /** Prunes now, then daily; the returned function stops it. */
  function startPruning(): () => void {
    void pruneAndLog();
    const timer = setInterval(pruneAndLog, DAY_MS);
    timer.unref();
    return () => clearInterval(timer);
  }

  function pruneAndLog(): Promise<unknown> {
    return prune().then(
      (count) => count > 0 && logEvent("info", "billing.ledger.pruned", { payloads: count }),
      (error: unknown) => logEvent("warn", "billing.ledger.prune_failed", { errorName: error instanceof Error ? error.name : typeof error }),
    );
  }

  return { list, replay, replayUnlinked, prune, startPruning };
}

export type Ledger = ReturnType<typeof createLedger>;
