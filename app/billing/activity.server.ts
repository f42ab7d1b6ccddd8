import { randomInt } from "node:crypto";
import type { RawRead } from "~/db/database.server.ts";
import type { PrismaClient } from "~/db/generated/client.ts";
import { logEvent } from "~/observability/log.server.ts";
import type { BillingFailure } from "./portal-failures.ts";
import type { ProviderId } from "./providers/provider.ts";

/**
 * The billing owner's (an organisation's) billing history for support and for the account page (SPEC "Beyond the portal"):
 * every portal open and checkout start, with the provider's latency, and every subscription
 * change a webhook applied. Entries hold words from a fixed vocabulary only: never a URL, a
 * token or a provider's own text.
 */

export type BillingActivityAction = "portal_open" | "checkout_start" | "subscription_change";

export type BillingActivityEntry = {
  /** The billing owner the entry belongs to. */
  organizationId: string;
  provider: ProviderId;
  action: BillingActivityAction;
  /** Portal: the intent; checkout: the plan id; change: the plan id. */
  intent?: string | null;
  /** "success" or the failure's kind (portal, checkout); the new status (change). */
  outcome: string;
  /** Time spent waiting for the provider; null when no provider call was made. */
  latencyMs?: number | null;
};

export type BillingActivityRow = Required<Omit<BillingActivityEntry, "organizationId">> & { createdAt: Date };

/** A word of the vocabulary: lower-case letters, digits, `_`, `-` and `:`; nothing that can hold a URL or a token's alphabet. */
const WORD = /^[a-z0-9_:-]{1,64}$/;
const DAY_MS = 24 * 60 * 60 * 1000;

/** The outcome word of a portal or checkout result. */
export function outcomeOf(result: { ok: true } | { ok: false; failure: BillingFailure }): string {
  if (result.ok) return "success";
  const { failure } = result;
  return failure.kind === "provider-failure" ? `provider-failure:${failure.reason}` : failure.kind;
}

/** Keeps a field to the vocabulary: anything else (a URL, a token, free text) is stored as "other". */
export function vocabularyWord(value: string | null | undefined): string | null {
  if (value === null || value === undefined) return null;
  return WORD.test(value) ? value : "other";
}

export type BillingActivity = ReturnType<typeof createBillingActivity>;

/**
 * Portal opens and checkout starts are written behind (ADR 017): `record` queues the entry and
 * answers at once, and the queue goes to the database as one multi-row insert every
 * `flushIntervalMs`, or as soon as it holds `batchSize` entries. The user's click waits for no
 * insert; under load one statement carries many entries. Reads on this instance flush first, so
 * a user always sees their own click; `stop` flushes what is left.
 */
export function createBillingActivity(deps: {
  prisma: PrismaClient;
  /** The driver's own statement (Database.read): the batch goes in without Prisma's query compiler. */
  read: RawRead;
  retentionDays: number;
  now?: () => Date;
  flushIntervalMs?: number;
  batchSize?: number;
  /** Entries waiting beyond this many (the database is down or slow) are dropped, and the drop is logged. */
  maxQueued?: number;
}) {
  const { prisma, read, retentionDays } = deps;
  const now = deps.now ?? (() => new Date());
  const flushIntervalMs = deps.flushIntervalMs ?? 100;
  const batchSize = deps.batchSize ?? 500;
  const maxQueued = deps.maxQueued ?? 10_000;

  let queued: (ReturnType<typeof rowData> & { createdAt: Date })[] = [];
  let timer: NodeJS.Timeout | undefined;
  /** Entries queued or in an insert not yet finished: the bound on what a slow database can pile up. */
  let waiting = 0;
  /** The insert under way: flushes run one at a time, so entries reach the table in the order recorded. */
  let writing: Promise<void> = Promise.resolve();

  function flush(): Promise<void> {
    if (timer) clearTimeout(timer);
    timer = undefined;
    if (queued.length === 0) return writing;
    const batch = queued;
    queued = [];
    writing = writing.then(() => write(batch));
    return writing;
  }

  async function write(batch: typeof queued): Promise<void> {
    let errorName = "";
    const insert = async (rows: typeof queued) => {
      try {
        await read(INSERT_ROWS, insertParameters(rows));
        return true;
      } catch (error) {
        errorName = error instanceof Error ? error.name : typeof error;
        return false;
      }
    };
    try {
      if (await insert(batch)) return;
      // One row the database refuses (its user was deleted a moment ago) must not take the others with it.
      let lost = batch.length;
      if (batch.length > 1) {
        lost = 0;
        for (const row of batch) if (!(await insert([row]))) lost++;
      }
      if (lost > 0) logEvent("warn", "billing.activity.not_recorded", { entries: lost, errorName });
    } finally {
      waiting -= batch.length;
    }
  }

  return {
    /** Queues one entry; a failure to record is logged and never fails the user's request. */
    async record(entry: BillingActivityEntry): Promise<void> {
      if (waiting >= maxQueued) {
        logEvent("warn", "billing.activity.not_recorded", { entries: 1, errorName: "QueueFull" });
        return;
      }
      waiting++;
      queued.push({ ...rowData(entry), createdAt: now() });
      if (queued.length >= batchSize) void flush();
      else if (!timer) {
        timer = setTimeout(() => void flush(), flushIntervalMs);
        timer.unref();
      }
    },

    /** Writes every queued entry; resolves once they are in the database (or their loss is logged). */
    flush,

    /** The organisation's latest entries, newest first. */
    async recent(organizationId: string, limit = 10): Promise<BillingActivityRow[]> {
      await flush();
      return prisma.billingActivity.findMany({
        where: { organizationId },
        orderBy: [{ createdAt: "desc" }, { id: "desc" }],
        take: limit,
        select: { provider: true, action: true, intent: true, outcome: true, latencyMs: true, createdAt: true },
      });
    },

    /** Deletes entries older than the retention; answers how many went. */
    async prune(): Promise<number> {
      const before = new Date(now().getTime() - retentionDays * DAY_MS);
      const { count } = await prisma.billingActivity.deleteMany({ where: { createdAt: { lt: before } } });
      if (count > 0) logEvent("info", "billing.activity.pruned", { entries: count, retentionDays });
      return count;
    },

    /** Prunes now and then once a day; the returned function stops it. */
    startPruning(): () => void {
      const prune = () =>
        this.prune().catch((error: unknown) =>
          logEvent("warn", "billing.activity.prune_failed", { errorName: error instanceof Error ? error.name : typeof error }),
        );
      void prune();
      const daily = setInterval(prune, DAY_MS);
      daily.unref();
      return () => clearInterval(daily);
    },
  };
}

/**
 * Any number of entries in one statement, one array per column. Written for the driver rather
 * than Prisma's createMany, whose query compiler took about a tenth of the main thread under load
 * (issue 9): the batch is the only Prisma call left on a click's account. The time goes as epoch
 * milliseconds and is stored as UTC, as Prisma stores a DateTime, whatever either side's time zone.
 */
const INSERT_ROWS = `
  INSERT INTO "BillingActivity" ("id", "organizationId", "provider", "action", "intent", "outcome", "latencyMs", "createdAt")
  SELECT "id", "organizationId", "provider", "action", "intent", "outcome", "latencyMs", to_timestamp("atMs" / 1000.0) AT TIME ZONE 'UTC'
  FROM unnest($1::text[], $2::text[], $3::"PaymentProvider"[], $4::"BillingActivityAction"[], $5::text[], $6::text[], $7::int[], $8::float8[])
    AS entry("id", "organizationId", "provider", "action", "intent", "outcome", "latencyMs", "atMs")`;

let idCounter = 0;

/**
 * An id laid out as Prisma's cuid is ("c", the time in base 36, a counter, random), so entries of
 * one millisecond keep the order they were recorded in when sorted by (createdAt, id), as the
 * account page and `billing:activity` read them, among themselves and beside Prisma's own ids.
 */
function sortableId(at: Date): string {
  idCounter = (idCounter + 1) % 36 ** 4;
  return `c${at.getTime().toString(36).padStart(8, "0")}${idCounter.toString(36).padStart(4, "0")}${randomBase36()}${randomBase36()}`;
}

const randomBase36 = () => randomInt(36 ** 6).toString(36).padStart(6, "0");

function insertParameters(rows: readonly (ReturnType<typeof rowData> & { createdAt: Date })[]): unknown[][] {
  return [
    rows.map((row) => sortableId(row.createdAt)),
    rows.map((row) => row.organizationId),
    rows.map((row) => row.provider),
    rows.map((row) => row.action),
    rows.map((row) => row.intent),
    rows.map((row) => row.outcome),
    rows.map((row) => row.latencyMs),
    rows.map((row) => row.createdAt.getTime()),
  ];
}

/** The row as stored: vocabulary words only, latency as whole milliseconds. */
export function rowData(entry: BillingActivityEntry) {
  return {
    organizationId: entry.organizationId,
    provider: entry.provider,
    action: entry.action,
    intent: vocabularyWord(entry.intent),
    outcome: vocabularyWord(entry.outcome) ?? "other",
    latencyMs: entry.latencyMs === null || entry.latencyMs === undefined ? null : Math.max(0, Math.round(entry.latencyMs)),
  };
}
