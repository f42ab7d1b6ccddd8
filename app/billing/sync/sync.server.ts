import { setTimeout as sleep } from "node:timers/promises";
import type { PrismaClient } from "~/db/generated/client.ts";
import type { PlanId } from "../plans.ts";
import { ProviderError } from "../providers/provider-error.ts";
import type { BillingProvider, ListedSubscription, ProviderId } from "../providers/provider.ts";
import { applyBillingEvent, planOf, type Transaction } from "../subscription-state.server.ts";

/** One field of one subscription that the provider says differs from our copy. */
export type SyncDifference = {
  /** The owner's email. */
  owner: string;
  provider: ProviderId;
  subscription: string;
  field: "subscription" | "status" | "plan" | "currentPeriodEnd" | "cancelAtPeriodEnd" | "customer";
  before: string | null;
  after: string | null;
};

/** A customer whose provider could not be read; nothing of theirs was changed. Never the provider's own text. */
export type SyncError = { owner: string; provider: ProviderId; reason: string };

export type SyncReport = { differences: SyncDifference[]; customers: number; errors: SyncError[] };

/** Which customers to read: one owner's (by email), or every customer; either limited to one provider. */
export type SyncSelection = { email: string } | { all: true };

export type SyncCustomer = {
  id: string;
  /** The billing owner. */
  organizationId: string;
  provider: ProviderId;
  providerCustomerId: string;
  owner: string;
};

export type BillingSyncDeps = {
  prisma: PrismaClient;
  /** Each provider with a key (active and legacy), already inside the resilience policy. */
  providers: Partial<Record<ProviderId, BillingProvider>>;
  plans: Record<ProviderId, Partial<Record<PlanId, string>>>;
  /** Called before every provider call (one page): the reconciler's calls-per-minute budget waits here. */
  beforeCall?: () => Promise<void>;
  /** How a 429's Retry-After is waited (tests shorten it). */
  wait?: (ms: number) => Promise<void>;
  /** How many 429s in a row one page may get before the customer is reported as failed. */
  maxRateLimitWaits?: number;
  /** The longest Retry-After honoured; a longer one fails the customer at once. */
  maxRetryAfterSeconds?: number;
};

class DryRun extends Error {}

const FIELDS = ["status", "plan", "currentPeriodEnd", "cancelAtPeriodEnd"] as const;

/**
 * Billing state from the providers (SPEC "Keeping billing state true"): each customer's subscriptions as the
 * provider lists them, applied in one transaction per customer through the same function as webhooks
 * (subscription-state.server.ts; the provider's answer is the newest state), the differences returned.
 */
export function createBillingSync(deps: BillingSyncDeps) {
  const wait = deps.wait ?? ((ms: number) => sleep(ms).then(() => undefined));
  const maxWaits = deps.maxRateLimitWaits ?? 5;
  const maxRetryAfter = deps.maxRetryAfterSeconds ?? 120;

  /** The customers a selection names, at providers we can ask, oldest-checked first. */
  async function customers(selection: SyncSelection, provider?: ProviderId): Promise<SyncCustomer[]> {
    const providers = (Object.keys(deps.providers) as ProviderId[]).filter((id) => provider === undefined || id === provider);
    const rows = await deps.prisma.customer.findMany({
      where: {
        provider: { in: providers },
        // An email names the organisations that user belongs to.
        ...("email" in selection ? { organization: { memberships: { some: { user: { email: selection.email } } } } } : {}),
      },
      select: {
        id: true,
        organizationId: true,
        provider: true,
        providerCustomerId: true,
        // The organisation's first owner speaks for it in reports (and is the email Lemon Squeezy lists by).
        organization: { select: { memberships: { where: { role: "owner" }, orderBy: { createdAt: "asc" }, take: 1, select: { user: { select: { email: true } } } } } },
      },
      orderBy: [{ lastSyncedAt: { sort: "asc", nulls: "first" } }, { id: "asc" }],
    });
    return rows.map((row) => ({
      id: row.id,
      organizationId: row.organizationId,
      provider: row.provider,
      providerCustomerId: row.providerCustomerId,
      owner: row.organization.memberships[0]?.user.email ?? row.organizationId,
    }));
  }

  /** Every subscription of one customer at its provider, every page; 429s waited out. */
  async function list(customer: SyncCustomer): Promise<ListedSubscription[]> {
    const provider = deps.providers[customer.provider];
    if (!provider?.listSubscriptionPage) throw new ProviderError(customer.provider, "not-configured", "provider cannot list subscriptions");
    const byId = new Map<string, ListedSubscription>();
    let cursor: string | null = null;
    do {
      const page = await withRateLimitWaits(() =>
        provider.listSubscriptionPage!({ providerCustomerId: customer.providerCustomerId, email: customer.owner, cursor }),
      );
      // Page-number pagination can show one subscription twice when another is created during the walk.
      for (const item of page.items) byId.set(item.subscription.providerSubscriptionId, item);
      cursor = page.next;
    } while (cursor !== null);
    return [...byId.values()];
  }

  async function withRateLimitWaits<T>(call: () => Promise<T>): Promise<T> {
    for (let waits = 0; ; waits += 1) {
      await deps.beforeCall?.();
      try {
        return await call();
      } catch (error) {
        const retryAfter = error instanceof ProviderError && error.kind === "rate-limited" ? (error.retryAfterSeconds ?? 1) : undefined;
        if (retryAfter === undefined || waits >= maxWaits || retryAfter > maxRetryAfter) throw error;
        await wait(retryAfter * 1000);
      }
    }
  }

  /**
   * One customer: read at the provider, then in one transaction compare and apply. A dry run takes the same
   * path and rolls the transaction back, so it reports exactly what a real run would change.
   */
  async function syncCustomer(customer: SyncCustomer, options: { dryRun?: boolean } = {}): Promise<SyncDifference[]> {
    const listed = await list(customer);
    const differences: SyncDifference[] = [];
    try {
      await deps.prisma.$transaction(
        async (tx) => {
          for (const item of listed) differences.push(...(await applyListed(tx, customer, item)));
          if (options.dryRun) throw new DryRun();
          await tx.customer.update({ where: { id: customer.id }, data: { lastSyncedAt: new Date() } });
        },
        // Prisma's default of 5 s is for a request's transaction: a customer with 150 subscriptions is several
        // statements each, and on a busy machine that took 5,027 ms, so the customer was never synced. The bound
        // grows with the work (a hung statement still ends it); only this customer's rows are held meanwhile.
        { timeout: transactionTimeoutMs(listed.length) },
      );
    } catch (error) {
      if (!(error instanceof DryRun)) throw error;
    }
    return differences;
  }

  async function applyListed(tx: Transaction, customer: SyncCustomer, item: ListedSubscription): Promise<SyncDifference[]> {
    const state = item.subscription;
    const stored = await tx.subscription.findUnique({
      where: { provider_providerSubscriptionId: { provider: customer.provider, providerSubscriptionId: state.providerSubscriptionId } },
      select: { status: true, plan: true, currentPeriodEnd: true, cancelAtPeriodEnd: true, providerUpdatedAt: true, organizationId: true },
    });
    const after = {
      status: state.status,
      plan: planOf(deps.plans, customer.provider, state.providerPlanId),
      currentPeriodEnd: state.currentPeriodEnd,
      cancelAtPeriodEnd: state.cancelAtPeriodEnd,
    };
    const difference = (field: SyncDifference["field"], before: unknown, value: unknown): SyncDifference => ({
      owner: customer.owner,
      provider: customer.provider,
      subscription: state.providerSubscriptionId,
      field,
      before: text(before),
      after: text(value),
    });
    let differences: SyncDifference[];
    if (!stored) {
      differences = [difference("subscription", null, state.status)];
    } else {
      differences = FIELDS.filter((field) => text(stored[field]) !== text(after[field])).map((field) =>
        difference(field, stored[field], after[field]),
      );
      if (stored.organizationId !== customer.organizationId) differences.push(difference("customer", "another owner", "this owner"));
      // Nothing differs: no write, so the billing activity gains no line for a state it already has.
      if (differences.length === 0) return [];
    }
    // The customer named by the listing is the one we asked about: it links to its known owner (a subscription
    // made in the provider's dashboard included).
    const outcome = await applyBillingEvent(tx, customer.provider, { ...item, providerCustomerId: customer.providerCustomerId, organizationId: null }, deps.plans);
    // A webhook stored a newer state while we read: that one stands, and nothing differs any more.
    return outcome === "processed" ? differences : [];
  }

  /** billing:sync: every selected customer, one at a time; a provider failure is reported and leaves that customer untouched. */
  async function run(selection: SyncSelection, options: { provider?: ProviderId; dryRun?: boolean } = {}): Promise<SyncReport> {
    const selected = await customers(selection, options.provider);
    const report: SyncReport = { differences: [], customers: selected.length, errors: [] };
    for (const customer of selected) {
      try {
        report.differences.push(...(await syncCustomer(customer, options)));
      } catch (error) {
        if (!(error instanceof ProviderError)) throw error;
        report.errors.push({ owner: customer.owner, provider: customer.provider, reason: error.kind });
      }
    }
    return report;
  }

  return { run, customers, syncCustomer };
}

export type BillingSync = ReturnType<typeof createBillingSync>;

function text(value: unknown): string | null {
  if (value === null || value === undefined) return null;
  if (value instanceof Date) return value.toISOString();
  return String(value);
}

/** How long one customer's sync transaction may take: 5 s, and a quarter of a second more per subscription listed. */
function transactionTimeoutMs(subscriptions: number): number {
  return 5_000 + 250 * subscriptions;
}
