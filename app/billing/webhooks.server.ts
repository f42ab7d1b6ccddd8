import { randomUUID } from "node:crypto";
import type { PrismaClient } from "~/db/generated/client.ts";
import { logEvent } from "~/observability/log.server.ts";
import { rowData } from "./activity.server.ts";
import { subscriptionChange, type SubscriptionFacts } from "./subscription-change.ts";
import type { PlanId } from "./plans.ts";
import type { BillingEvent, BillingProvider, ProviderId, RetrievedSubscription, VerifiedWebhook } from "./providers/provider.ts";
import { PROVIDER_IDS, providerModule } from "./providers/registry.server.ts";
import { readBodyUpTo } from "./request-body.server.ts";

/** SPEC: webhook bodies over 1 MiB are refused (413). */
const MAX_WEBHOOK_BYTES = 1024 * 1024;

export type WebhookOutcome = "processed" | "ignored" | "unlinked" | "duplicate";

type Transaction = Parameters<Parameters<PrismaClient["$transaction"]>[0]>[0];

/**
 * `POST /webhooks/<provider>` (ADR 011): verify the signature over the raw
 * body, then, in one transaction, claim the event in the ledger (a
 * redelivery finds it claimed and has no effect), link it to a user and
 * apply the subscription state unless a newer one is already stored.
 */
export function createWebhookService(deps: {
  prisma: PrismaClient;
  /** The secret of each provider whose endpoint is live (configured, or handed out by the emulator). */
  secrets: Partial<Record<ProviderId, string>>;
  /** Each provider's id for each plan, to read a subscription's plan. */
  plans: Record<ProviderId, Partial<Record<PlanId, string>>>;
  /**
   * The providers the app holds an API for (active and legacy): when two events for one subscription carry the
   * same provider time, the one that can `retrieveSubscription` is asked for the current state (SPEC).
   */
  providers?: readonly BillingProvider[];
}) {
  const { prisma, secrets, plans } = deps;
  const retrieverOf = (provider: ProviderId) => deps.providers?.find((candidate) => candidate.id === provider && candidate.retrieveSubscription);

  async function handle(providerParam: string | undefined, request: Request): Promise<Response> {
    if (request.method !== "POST") return json({ error: "Method Not Allowed" }, 405, { Allow: "POST" });
    const provider = PROVIDER_IDS.find((id) => id === providerParam);
    const secret = provider ? secrets[provider] : undefined;
    // A provider without a secret has no endpoint: nothing could be verified.
    if (!provider || !secret) return json({ error: "Not Found" }, 404);

    const body = await readBodyUpTo(request, MAX_WEBHOOK_BYTES);
    if (body === "too-large") return json({ error: "Payload Too Large" }, 413);

    const module = providerModule(provider);
    const verified = await module.webhooks.verify(body, request.headers, secret);
    if (!verified) {
      logEvent("warn", "billing.webhook.invalid_signature", { provider });
      return json({ error: "Invalid signature" }, 400);
    }

    if (!isStorable(verified)) {
      // No provider sends such an event: it changes nothing, and a 200 stops it being sent again.
      logEvent("info", "billing.webhook.received", { provider, outcome: "ignored" });
      return json({ received: true, outcome: "ignored" }, 200);
    }

    let outcome: WebhookOutcome;
    try {
      outcome = await recordInOrder(provider, verified, module.webhooks.parse(verified));
    } catch (error) {
      // Nothing was stored (the transaction rolled back): the provider delivers again later.
      logEvent("error", "billing.webhook.not_recorded", { provider, type: verified.type, errorName: errorName(error) });
      return json({ error: "Service Unavailable" }, 503, { "Retry-After": "30" });
    }
    logEvent("info", "billing.webhook.received", { provider, type: verified.type, outcome });
    return json({ received: true, outcome }, 200);
  }

  /**
   * Records the event; when it carries the same provider time as the stored state (Stripe's `created` has
   * one-second resolution), nothing is kept of that attempt and the provider is asked for the subscription's
   * current state, which is applied in the event's place (same time, so it wins the tie). If the provider
   * cannot be asked, the error reaches `handle` (503): nothing was recorded, the provider delivers again.
   */
  async function recordInOrder(provider: ProviderId, webhook: VerifiedWebhook, event: BillingEvent): Promise<WebhookOutcome> {
    const retriever = retrieverOf(provider);
    try {
      return await record(provider, webhook, event, { onTie: retriever ? "ask" : "apply" });
    } catch (error) {
      if (!(error instanceof SameProviderTime) || event.kind === "ignored" || event.kind === "customer-linked") throw error;
      const current = await retriever!.retrieveSubscription!(event.subscription.providerSubscriptionId);
      logEvent("info", "billing.webhook.same_time", { provider, subscription: event.subscription.providerSubscriptionId, retrieved: current !== null });
      if (!current) return record(provider, webhook, { kind: "ignored" }, { onTie: "apply" });
      // The provider's answer, on the event's own user and customer unless it names its own.
      const asked: BillingEvent = {
        ...event,
        userId: current.userId ?? event.userId,
        providerCustomerId: current.providerCustomerId,
        subscription: current.subscription,
      };
      return record(provider, webhook, asked, { onTie: "apply" });
    }
  }

  function record(provider: ProviderId, webhook: VerifiedWebhook, event: BillingEvent, order: ApplyOrder): Promise<WebhookOutcome> {
    return prisma.$transaction(async (tx) => {
      // The ledger row is the lock: a concurrent delivery of the same event waits on it, then finds it taken.
      const claimed = await tx.webhookEvent.createMany({
        data: [{ provider, eventId: webhook.eventId, type: webhook.type.slice(0, 200), outcome: "ignored" }],
        skipDuplicates: true,
      });
      if (claimed.count === 0) return "duplicate";

      const outcome = await apply(tx, provider, event, order);
      if (outcome !== "ignored") {
        await tx.webhookEvent.update({
          where: { provider_eventId: { provider, eventId: webhook.eventId } },
          data: { outcome },
        });
      }
      return outcome;
    });
  }

  /**
   * Applies one event inside the caller's transaction: the one path every webhook change takes. A stale event
   * (older than the stored state) changes nothing at all: not the subscription, not the user's Customer link,
   * not the activity. An event at the same provider time as the stored state is applied (`onTie: "apply"`) or
   * thrown back as SameProviderTime (`"ask"`) for the caller to ask the provider.
   */
  async function apply(tx: Transaction, provider: ProviderId, event: BillingEvent, order: ApplyOrder): Promise<Exclude<WebhookOutcome, "duplicate">> {
    if (event.kind === "ignored") return "ignored";
    const owner = await ownerOf(tx, provider, event.providerCustomerId, event.userId);
    if (!owner) return "unlinked";
    if (event.kind === "customer-linked") {
      await owner.link();
      return "processed";
    }

    const { subscription } = event;
    const plan = planOf(provider, subscription.providerPlanId);
    const applyTie = order.onTie === "apply";
    // The stored state, locked until this transaction ends: what the change is compared with (billing activity),
    // and whether this event is at the same provider time.
    const [before] = await tx.$queryRaw<(SubscriptionFacts & { providerUpdatedAt: Date })[]>`
      SELECT "status", "plan", "cancelAtPeriodEnd", "currentPeriodEnd", "providerUpdatedAt" FROM "Subscription"
      WHERE "provider" = ${provider}::"PaymentProvider" AND "providerSubscriptionId" = ${subscription.providerSubscriptionId}
      FOR UPDATE`;
    // One statement, so two events for one subscription cannot interleave: the row is written only when
    // this event's time is newer than the stored state's (or the same, when a tie is applied).
    const written = await tx.$executeRaw`
      INSERT INTO "Subscription" ("id", "provider", "providerSubscriptionId", "providerCustomerId", "plan", "providerPlanId",
        "status", "currentPeriodEnd", "cancelAtPeriodEnd", "endedAt", "trialEnd", "quantity", "providerUpdatedAt",
        "createdAt", "updatedAt", "userId")
      VALUES (${randomUUID()}, ${provider}::"PaymentProvider", ${subscription.providerSubscriptionId}, ${event.providerCustomerId},
        ${plan}, ${subscription.providerPlanId}, ${subscription.status}::"SubscriptionStatus", ${subscription.currentPeriodEnd},
        ${subscription.cancelAtPeriodEnd}, ${subscription.endedAt ?? null}, ${subscription.trialEnd ?? null},
        ${subscription.quantity ?? null}, ${event.occurredAt}, now(), now(), ${owner.userId})
      ON CONFLICT ("provider", "providerSubscriptionId") DO UPDATE SET
        "providerCustomerId" = EXCLUDED."providerCustomerId", "plan" = EXCLUDED."plan",
        "providerPlanId" = EXCLUDED."providerPlanId", "status" = EXCLUDED."status",
        "currentPeriodEnd" = EXCLUDED."currentPeriodEnd", "cancelAtPeriodEnd" = EXCLUDED."cancelAtPeriodEnd",
        "endedAt" = EXCLUDED."endedAt", "trialEnd" = EXCLUDED."trialEnd", "quantity" = EXCLUDED."quantity",
        "providerUpdatedAt" = EXCLUDED."providerUpdatedAt", "updatedAt" = now(), "userId" = EXCLUDED."userId"
      WHERE "Subscription"."providerUpdatedAt" < EXCLUDED."providerUpdatedAt"
        OR ("Subscription"."providerUpdatedAt" = EXCLUDED."providerUpdatedAt" AND ${applyTie})`;
    if (written === 0) {
      if (!applyTie && before && new Date(before.providerUpdatedAt).getTime() === event.occurredAt.getTime()) throw new SameProviderTime();
      logEvent("info", "billing.webhook.stale", { provider, subscription: subscription.providerSubscriptionId });
      return "ignored";
    }
    // Only an applied change links (or moves) the user's Customer row.
    await owner.link();
    // In the same transaction: the user's billing activity shows exactly the changes that were applied, one line
    // per change a customer would notice (a provider's second event for the same state adds none).
    const change = subscriptionChange(before ? { ...before, currentPeriodEnd: before.currentPeriodEnd && new Date(before.currentPeriodEnd) } : null, {
      status: subscription.status,
      plan,
      cancelAtPeriodEnd: subscription.cancelAtPeriodEnd,
      currentPeriodEnd: subscription.currentPeriodEnd,
    });
    if (change) {
      await tx.billingActivity.create({
        data: rowData({ userId: owner.userId, provider, action: "subscription_change", intent: plan, outcome: change }),
      });
    }
    return "processed";
  }

  /**
   * A state the provider's API answered with (a checkout confirmed on return, SPEC "Plans and checkout"), applied by
   * the same `apply` as a webhook, with no ledger row: `at` is the provider's time of the answer, and an answer is
   * the newest state, so it also wins a tie. A webhook for it arriving later finds it applied.
   */
  function applyProviderState(provider: ProviderId, state: RetrievedSubscription, at: Date): Promise<Exclude<WebhookOutcome, "duplicate">> {
    const event: BillingEvent = { kind: "subscription-upserted", ...state, occurredAt: at };
    return prisma.$transaction((tx) => apply(tx, provider, event, { onTie: "apply" }));
  }

  function planOf(provider: ProviderId, providerPlanId: string | null): PlanId | null {
    if (!providerPlanId) return null;
    const entry = Object.entries(plans[provider]).find(([, id]) => id === providerPlanId);
    return (entry?.[0] as PlanId | undefined) ?? null;
  }

  return { handle, applyProviderState };
}

export type WebhookService = ReturnType<typeof createWebhookService>;

function json(body: unknown, status: number, headers: Record<string, string> = {}): Response {
  return Response.json(body, { status, headers: { "Cache-Control": "no-store", ...headers } });
}

/** Provider event ids are short (Stripe's reach 255 characters at most); the ledger's unique index takes no key of kilobytes. */
const MAX_EVENT_ID_LENGTH = 255;

/** Whether the ledger can hold the event: an id it can index, and no U+0000 anywhere (PostgreSQL text cannot hold it). */
function isStorable(webhook: VerifiedWebhook): boolean {
  if (webhook.eventId.length > MAX_EVENT_ID_LENGTH) return false;
  let nul = false;
  JSON.stringify([webhook.eventId, webhook.type, webhook.payload], (key, value: unknown) => {
    if (key.includes("\u0000") || (typeof value === "string" && value.includes("\u0000"))) nul = true;
    return value;
  });
  return !nul;
}

function errorName(error: unknown): string {
  return error instanceof Error ? error.name : typeof error;
}

/** How `apply` treats an event at the same provider time as the stored state. */
type ApplyOrder = { onTie: "apply" | "ask" };

/** Thrown out of the transaction (rolling it back) when an event cannot be ordered against the stored state. */
class SameProviderTime extends Error {
  override name = "SameProviderTime";
}

/**
 * The user an event belongs to: the one checkout named, else the one this provider customer is already linked
 * to; null when neither is known. Reads only: `link()` writes the Customer row (creating or moving the named
 * user's link to this provider customer), and is called only once the event's change is applied.
 */
async function ownerOf(tx: Transaction, provider: ProviderId, providerCustomerId: string, namedUserId: string | null) {
  const linked = await tx.customer.findUnique({
    where: { provider_providerCustomerId: { provider, providerCustomerId } },
    select: { userId: true },
  });
  const named = namedUserId
    ? await tx.user.findUnique({ where: { id: namedUserId }, select: { id: true } })
    : null;
  if (linked) {
    // A provider customer stays with the user it was first linked to.
    if (named && named.id !== linked.userId) logEvent("warn", "billing.webhook.link_conflict", { provider });
    return { userId: linked.userId, link: async () => {} };
  }
  if (!named) return null;
  return {
    userId: named.id,
    link: async () => {
      await tx.customer.upsert({
        where: { userId_provider: { userId: named.id, provider } },
        create: { userId: named.id, provider, providerCustomerId },
        update: { providerCustomerId },
      });
    },
  };
}
